package dev.mae4j.cli;

import static dev.mae4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParameterException;

/** The option checks accept their ranges' ends as the messages state them, and reject what lies outside. */
class OptionChecksTest {
    @Command(name = "t")
    static final class Nothing {}

    private final OptionChecks check = new OptionChecks(new CommandLine(new Nothing()).getCommandSpec());

    private String failure(Runnable r) {
        return assertThrows(ParameterException.class, r::run).getMessage();
    }

    @Test
    void rangesIncludeExactlyTheEndsTheirMessagesName() {
        check.positive("--n", 1L).positive("--x", Double.MIN_VALUE).nonNegative("--x", 0.0);
        check.probability("--p", 0.0)
                .probability("--p", 1.0)
                .belowOne("--r", 0.0)
                .fraction("--f", 1.0);
        assertEquals("--n must be positive, got 0", failure(() -> check.positive("--n", 0L)));
        assertEquals("--x must be positive, got NaN", failure(() -> check.positive("--x", Double.NaN)));
        assertEquals("--x must be >= 0, got -0.5", failure(() -> check.nonNegative("--x", -0.5)));
        assertEquals("--p must be in [0, 1], got 1.5", failure(() -> check.probability("--p", 1.5)));
        assertEquals("--r must be in [0, 1), got 1.0", failure(() -> check.belowOne("--r", 1.0)));
        assertEquals("--f must be in (0, 1], got 0.0", failure(() -> check.fraction("--f", 0.0)));
        assertEquals("bad", failure(() -> check.problem(null).problem("bad")));
        assertEquals(
                "--aa: no",
                failure(() -> check.parses("--aa: ", () -> {
                    throw new IllegalArgumentException("no");
                })));
    }

    @Test
    void aCommandReportsTheFirstFailedCheckAsAUsageError(@TempDir Path dir) {
        StringWriter err = new StringWriter();
        int status = run(err, "finetune", "--data", dir.toString(), "--layer-decay", "1.5", "--out", dir.toString());
        assertEquals(2, status, err.toString());
        assertTrue(err.toString().contains("--layer-decay must be in (0, 1], got 1.5"), err.toString());
    }
}
