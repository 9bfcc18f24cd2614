package dev.mae4j;

/** A failure inside libmae or libtorch that is not the caller's bad input. */
public class MaeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public MaeException(String message) {
        super(message);
    }

    public MaeException(String message, Throwable cause) {
        super(message, cause);
    }
}
