package dev.mae4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * A command's option checks, one line each: the first that fails throws picocli's ParameterException (a usage error,
 * exit code 2) whose message names the option, what it must be and the value given.
 */
final class OptionChecks {
    private final CommandLine line;

    OptionChecks(CommandSpec spec) {
        this.line = spec.commandLine();
    }

    /** Fails with {@code message} unless {@code ok}. */
    OptionChecks require(boolean ok, String message) {
        if (!ok) throw new ParameterException(line, message);
        return this;
    }

    /** Fails with the problem an option group found (DistributedOptions.problem(), ...), if any. */
    OptionChecks problem(String problem) {
        return require(problem == null, problem);
    }

    OptionChecks positive(String option, long value) {
        return require(value > 0, option + " must be positive, got " + value);
    }

    /** NaN fails too. */
    OptionChecks positive(String option, double value) {
        return require(value > 0, option + " must be positive, got " + value);
    }

    OptionChecks nonNegative(String option, double value) {
        return require(value >= 0, option + " must be >= 0, got " + value);
    }

    /** {@code value} in [0, 1]. */
    OptionChecks probability(String option, double value) {
        return require(value >= 0 && value <= 1, option + " must be in [0, 1], got " + value);
    }

    /** {@code value} in [0, 1): a ratio or rate that must leave something. */
    OptionChecks belowOne(String option, double value) {
        return require(value >= 0 && value < 1, option + " must be in [0, 1), got " + value);
    }

    /** {@code value} in (0, 1]: a scale or decay that must keep something. */
    OptionChecks fraction(String option, double value) {
        return require(value > 0 && value <= 1, option + " must be in (0, 1], got " + value);
    }

    /** Runs a check that throws IllegalArgumentException (a parser, a constructor), as a usage error. */
    OptionChecks parses(String prefix, Runnable parse) {
        try {
            parse.run();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(line, prefix + e.getMessage());
        }
        return this;
    }
}
