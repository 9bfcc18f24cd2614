package dev.mae4j.cli;

import dev.mae4j.MaeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;

/**
 * Prints what a user can fix — a missing or unreadable file, a malformed checkpoint, a refused argument, a native
 * error — as one line on stderr with exit status 1; anything else is a bug and keeps its stack trace.
 */
final class UserErrors implements CommandLine.IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception e, CommandLine cli, CommandLine.ParseResult parsed) throws Exception {
        String message = describe(e instanceof UncheckedIOException u ? u.getCause() : e);
        if (message == null) throw e;
        cli.getErr().println(cli.getColorScheme().errorText("mae " + cli.getCommandName() + ": " + message));
        cli.getErr().flush();
        return cli.getCommandSpec().exitCodeOnExecutionException();
    }

    /** The one line to print for {@code e}, or null when it is not the user's to fix. */
    static String describe(Throwable e) {
        return switch (e) {
            case NoSuchFileException f -> "no such file: " + f.getFile();
            case AccessDeniedException f -> "permission denied: " + f.getFile();
            case FileSystemException f -> f.getMessage(); // names the file and the reason
            case IOException io -> io.getMessage() != null ? io.getMessage() : io.toString();
            case MaeException m -> m.getMessage();
            case IllegalArgumentException bad -> bad.getMessage(); // the API's checks name the argument
            default -> null;
        };
    }
}
