package dev.mae4j.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs `mae` in this JVM as main does, with stderr into {@code err}. */
final class Cli {
    private Cli() {}

    static int run(StringWriter err, String... args) {
        return MaeCommand.commandLine(new MaeCommand()).setErr(new PrintWriter(err)).execute(args);
    }

    /**
     * For tests of what our builds always make (the C++ drivers, libjpeg in libmae, the venv's transformers): fails
     * naming what is missing, so that CI cannot pass by skipping; with -Dmae.allowSkips=true (a partial build) the
     * test is reported as skipped, with the reason.
     */
    static void assumeBuilt(boolean built, String missing) {
        if (built) return;
        if (Boolean.getBoolean("mae.allowSkips")) org.junit.jupiter.api.Assumptions.assumeTrue(false, missing);
        org.junit.jupiter.api.Assertions.fail(missing + " (a partial build may skip this with -Dmae.allowSkips=true)");
    }
}
