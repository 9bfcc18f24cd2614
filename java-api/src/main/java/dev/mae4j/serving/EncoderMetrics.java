package dev.mae4j.serving;

import java.time.Duration;
import java.util.function.IntSupplier;

/**
 * What a {@link BatchingEncoder} reports, for a metrics system to record ({@link MicrometerEncoderMetrics} for
 * Micrometer). Called from the batching worker and from submitting threads: implementations are thread-safe and quick.
 */
public interface EncoderMetrics {
    /** Records nothing. */
    EncoderMetrics NONE = new EncoderMetrics() {};

    /** Called once, with the source of the images waiting for a batch, to be read when the metrics system likes. */
    default void queueDepth(IntSupplier depth) {}

    /** One batch of {@code images} embedded, the encoder call taking {@code duration}. */
    default void batch(int images, Duration duration) {}

    /**
     * The encoded images of one batch decoded ({@link BatchingEncoder#embedEncoded}): {@code images} of them, in
     * {@code duration}, of which {@code failed} did not decode.
     */
    default void decoded(int images, int failed, Duration duration) {}

    /** One image answered, {@code latency} after it was submitted. */
    default void latency(Duration latency) {}

    /** A submission refused because the queue was full. */
    default void rejected() {}

    /** A request whose deadline passed before its batch formed (never embedded). */
    default void expired() {}

    /** A batch of {@code images} whose encoder call failed (each request failed with the cause). */
    default void failed(int images) {}

    /** The encoder was swapped for another. */
    default void swapped() {}
}
