package dev.mae4j;

/**
 * Training diverged: this many consecutive updates had a NaN or infinite loss or gradient. Each was skipped,
 * so the weights are those of the last finite update; lower the learning rate or check the data.
 */
public final class NonFiniteLossException extends MaeException {
    private static final long serialVersionUID = 1L;

    NonFiniteLossException(int consecutive, long skippedInAll) {
        super(consecutive + " consecutive updates had a non-finite loss or gradient and were skipped (" + skippedInAll
                + " in all); the weights are those of the last finite update");
    }
}
