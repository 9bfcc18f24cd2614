package dev.mae4j.io;

import java.io.IOException;
import java.nio.file.Path;

/** A file that breaks its format; the message names the file and the problem. The API reports it as its own type. */
public final class FormatException extends IOException {
    private static final long serialVersionUID = 1L;
    private final transient Path file;
    private final String problem;

    public FormatException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
        this.problem = problem;
    }

    public Path file() {
        return file;
    }

    public String problem() {
        return problem;
    }
}
