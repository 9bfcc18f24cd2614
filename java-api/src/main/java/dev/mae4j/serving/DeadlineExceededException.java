package dev.mae4j.serving;

import java.util.concurrent.TimeoutException;

/** A request's deadline passed while it waited for a batch; its image was never embedded. */
public final class DeadlineExceededException extends TimeoutException {
    public DeadlineExceededException(String message) {
        super(message);
    }
}
