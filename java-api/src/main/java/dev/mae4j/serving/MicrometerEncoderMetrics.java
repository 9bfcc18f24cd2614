package dev.mae4j.serving;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.function.IntSupplier;

/**
 * {@link EncoderMetrics} recorded in a Micrometer {@link MeterRegistry}: {@code mae4j.encoder.queue.depth} (gauge),
 * {@code mae4j.encoder.batch.size} (summary), {@code mae4j.encoder.batch.duration} and {@code
 * mae4j.encoder.request.latency} and {@code mae4j.encoder.decode.duration} (timers, with percentiles), {@code
 * mae4j.encoder.requests.rejected}, {@code .expired}, {@code .failed}, {@code mae4j.encoder.images.undecodable} and
 * {@code mae4j.encoder.swaps} (counters). Micrometer (io.micrometer:micrometer-core) is
 * an optional dependency of mae4j: a service that uses this class brings it.
 */
public final class MicrometerEncoderMetrics implements EncoderMetrics {
    private final MeterRegistry registry;
    private final DistributionSummary batchSize;
    private final Timer batchDuration, latency, decodeDuration;
    private final Counter rejected, expired, failed, swaps, undecodable;

    private MicrometerEncoderMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.batchSize = DistributionSummary.builder("mae4j.encoder.batch.size")
                .description("images per encoder call")
                .register(registry);
        this.batchDuration = Timer.builder("mae4j.encoder.batch.duration")
                .description("time of one encoder call")
                .publishPercentiles(0.5, 0.99)
                .register(registry);
        this.decodeDuration = Timer.builder("mae4j.encoder.decode.duration")
                .description("decoding one batch's encoded images, between encoder calls")
                .publishPercentiles(0.5, 0.99)
                .register(registry);
        this.undecodable = Counter.builder("mae4j.encoder.images.undecodable")
                .description("encoded images that did not decode (never embedded)")
                .register(registry);
        this.latency = Timer.builder("mae4j.encoder.request.latency")
                .description("from submission to the answer")
                .publishPercentiles(0.5, 0.99)
                .register(registry);
        this.rejected = Counter.builder("mae4j.encoder.requests.rejected")
                .description("refused: the queue was full")
                .register(registry);
        this.expired = Counter.builder("mae4j.encoder.requests.expired")
                .description("deadline passed before the batch formed")
                .register(registry);
        this.failed = Counter.builder("mae4j.encoder.requests.failed")
                .description("in a batch whose encoder call failed")
                .register(registry);
        this.swaps = Counter.builder("mae4j.encoder.swaps")
                .description("encoders swapped in")
                .register(registry);
    }

    public static MicrometerEncoderMetrics of(MeterRegistry registry) {
        if (registry == null) throw new IllegalArgumentException("registry must not be null");
        return new MicrometerEncoderMetrics(registry);
    }

    @Override
    public void queueDepth(IntSupplier depth) {
        Gauge.builder("mae4j.encoder.queue.depth", depth, IntSupplier::getAsInt)
                .description("images waiting for a batch")
                .strongReference(true) // the supplier is a lambda no one else holds: weakly held, it would read NaN
                .register(registry);
    }

    @Override
    public void decoded(int images, int failed, Duration duration) {
        decodeDuration.record(duration);
        undecodable.increment(failed);
    }

    @Override
    public void batch(int images, Duration duration) {
        batchSize.record(images);
        batchDuration.record(duration);
    }

    @Override
    public void latency(Duration d) {
        latency.record(d);
    }

    @Override
    public void rejected() {
        rejected.increment();
    }

    @Override
    public void expired() {
        expired.increment();
    }

    @Override
    public void failed(int images) {
        failed.increment(images);
    }

    @Override
    public void swapped() {
        swaps.increment();
    }
}
