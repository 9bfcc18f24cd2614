package dev.mae4j.serving;

import java.util.concurrent.RejectedExecutionException;

/** A {@link BatchingEncoder}'s queue is full: the request was refused at once (a service answers 429 or 503). */
public final class EncoderOverloadedException extends RejectedExecutionException {
    public EncoderOverloadedException(String message) {
        super(message);
    }
}
