package dev.mae4j.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs `mae` in this JVM as main does, with stderr into {@code err}. */
final class Cli {
    private Cli() {}

    static int run(StringWriter err, String... args) {
        return MaeCommand.commandLine(new MaeCommand())
                .setErr(new PrintWriter(err))
                .execute(args);
    }
}
