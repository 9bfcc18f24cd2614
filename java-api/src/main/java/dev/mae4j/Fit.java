package dev.mae4j;

import java.nio.file.Path;
import java.util.Map;

/**
 * How {@link Trainer#fit} and {@link FineTuner#fit} run: batches of {@code batchSize} images in per-epoch orders drawn from
 * {@code seed}, each passed through {@code transform} (e.g. augmentation) on the loading thread, until the
 * trainer has taken {@code updates} updates; a checkpoint every {@code checkpointEvery} updates and at the end
 * when {@code checkpoint} is set, carrying {@code progress} (what a resumed run must share with this one).
 */
public record Fit(
        int batchSize,
        long updates,
        long seed,
        BatchLoader.Transform transform,
        Path checkpoint,
        long checkpointEvery,
        Map<String, String> progress) {
    public Fit {
        if (batchSize <= 0) throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
        if (updates <= 0) throw new IllegalArgumentException("updates must be positive, got " + updates);
        if (checkpointEvery <= 0)
            throw new IllegalArgumentException("checkpointEvery must be positive, got " + checkpointEvery);
        if (transform == null) transform = (batch, index) -> batch;
        progress = progress == null ? Map.of() : Map.copyOf(progress);
    }

    /** No augmentation and no checkpoints. */
    public static Fit of(int batchSize, long updates, long seed) {
        return new Fit(batchSize, updates, seed, null, null, Long.MAX_VALUE, null);
    }

    /** What {@link Trainer#fit} reports after each update. */
    public record Update(
            long update, double epoch, double loss, double lr, double imagesPerSecond, double dataWaitFraction) {}

    /**
     * Runs after every update, before its checkpoint (which may then carry what it found), on every rank: e.g. a
     * test-set evaluation at the end of each epoch. {@code update} is the number of updates taken so far.
     */
    @FunctionalInterface
    public interface Evaluation {
        void evaluate(long update) throws java.io.IOException;
    }

    /** Receives every update; returning false stops the fit after it (and after its checkpoint). */
    @FunctionalInterface
    public interface Listener {
        boolean onUpdate(Update update) throws java.io.IOException;
    }
}
