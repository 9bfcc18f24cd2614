package dev.mae4j;

import java.io.IOException;
import java.nio.file.Path;

/** A checkpoint file that is malformed or does not fit the model; the message names the file and the problem. */
public class CheckpointException extends IOException {
    private static final long serialVersionUID = 1L;

    public CheckpointException(Path file, String problem) {
        super(file + ": " + problem);
    }
}
