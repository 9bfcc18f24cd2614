package dev.mae4j;

/** Host or device memory ran out; the library stays usable and the caller may retry with less. */
public class MaeOutOfMemoryException extends MaeException {
    private static final long serialVersionUID = 1L;

    public MaeOutOfMemoryException(String message) {
        super(message);
    }
}
