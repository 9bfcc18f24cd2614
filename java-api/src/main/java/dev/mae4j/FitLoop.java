package dev.mae4j;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The one training loop, behind {@link Trainer#fit} and {@link FineTuner#fit}: this rank's batches from where the
 * optimiser stands to {@code fit.updates()} updates, each passed to the optimiser's step; after each update the
 * evaluation hook, the checkpoint when one is due, then the listener, whose "stop" every rank then obeys.
 */
final class FitLoop {
    /** One batch's forward and backward, and its update when the batch closes one; returns the batch's loss. */
    interface BatchStep {
        double run(BatchLoader.Batch batch, BatchLoader loader) throws IOException;
    }

    /** Writes a checkpoint carrying {@code progress}. */
    interface Checkpointer {
        void save(Map<String, String> progress) throws IOException;
    }

    /** What the loop needs of the optimiser it drives. */
    record Optimiser(
            LongSupplier updates,
            BooleanSupplier midUpdate,
            int batchesPerUpdate,
            LrSchedule schedule,
            ProcessGroup group) {}

    private FitLoop() {}

    /** Runs the loop; returns the updates it took. */
    static long run(
            ImageDataset data,
            Fit fit,
            Optimiser opt,
            BatchStep step,
            Checkpointer checkpointer,
            Fit.Evaluation evaluation,
            Fit.Listener listener,
            Supplier<Map<String, String>> checkpointProgress)
            throws IOException, InterruptedException {
        long first = opt.updates().getAsLong() * opt.batchesPerUpdate(), end = fit.updates() * opt.batchesPerUpdate();
        long start = System.nanoTime(), images = 0, taken = 0;
        double lossSum = 0;
        ProcessGroup group = opt.group();
        int rank = group == null ? 0 : group.rank(), ranks = group == null ? 1 : group.worldSize();
        try (BatchLoader loader =
                new BatchLoader(data, fit.batchSize(), fit.seed(), first, end, 2, fit.transform(), rank, ranks)) {
            for (BatchLoader.Batch b; (b = loader.next()) != null; ) {
                lossSum += step.run(b, loader);
                images += fit.batchSize();
                if (opt.midUpdate().getAsBoolean()) continue;
                taken++;
                long update = opt.updates().getAsLong();
                evaluation.evaluate(update);
                if (fit.checkpoint() != null && (update % fit.checkpointEvery() == 0 || update == fit.updates()))
                    checkpointer.save(progressAt(fit, checkpointProgress));
                double secs = (System.nanoTime() - start) / 1e9;
                boolean go = listener.onUpdate(new Fit.Update(
                        update,
                        (double) (b.index() + 1) / loader.batchesPerEpoch(),
                        lossSum / opt.batchesPerUpdate(),
                        opt.schedule().lr(update - 1),
                        images * ranks / secs,
                        loader.waitSeconds() / secs));
                lossSum = 0;
                // all ranks stop together, or the others would wait for this one's gradients until the timeout
                if (group != null) go = group.allReduceSum(go ? 0L : 1L)[0] == 0;
                if (!go) break;
            }
        }
        return taken;
    }

    private static Map<String, String> progressAt(Fit fit, Supplier<Map<String, String>> checkpointProgress) {
        Map<String, String> progress = new LinkedHashMap<>(fit.progress());
        progress.putAll(checkpointProgress.get());
        return progress;
    }
}
