package dev.mae4j.cli;

import dev.mae4j.Fit;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.LongToDoubleFunction;

/**
 * The listener both training commands give {@code fit}: the console's progress after every update; every
 * {@code logEvery} updates (and at the last) the losses averaged over them into metrics.jsonl and the console;
 * and the stop after {@code interruptAfter} updates (--interrupt-after, for the resume tests).
 */
final class UpdateLog implements Fit.Listener, AutoCloseable {
    private final MetricsLog metrics;
    private final TrainingProgress console;
    private final long steps, logEvery, interruptAfter;
    private final LongToDoubleFunction epochOf; // null: the loop's own epoch
    private double lossSum;
    private long window, taken;

    UpdateLog(
            Path metricsFile,
            TrainingProgress console,
            long start,
            long steps,
            long logEvery,
            long interruptAfter,
            LongToDoubleFunction epochOf)
            throws IOException {
        this.metrics = new MetricsLog(metricsFile, start);
        this.console = console;
        this.steps = steps;
        this.logEvery = logEvery;
        this.interruptAfter = interruptAfter;
        this.epochOf = epochOf;
    }

    @Override
    public boolean onUpdate(Fit.Update u) throws IOException {
        console.update(u.update(), u.loss(), u.imagesPerSecond());
        lossSum += u.loss();
        window++;
        if (u.update() % logEvery == 0 || u.update() == steps) {
            double epoch = epochOf == null ? u.epoch() : epochOf.applyAsDouble(u.update()), loss = lossSum / window;
            metrics.log(u.update(), epoch, loss, u.lr(), u.imagesPerSecond(), u.dataWaitFraction());
            console.log(u.update(), epoch, loss, u.lr(), u.imagesPerSecond(), u.dataWaitFraction());
            lossSum = 0;
            window = 0;
        }
        return ++taken < interruptAfter;
    }

    /** Whether --interrupt-after stopped the run before {@code steps}; says so when it did. */
    boolean interrupted(long stepCount) {
        boolean stopped = taken == interruptAfter && stepCount < steps;
        if (stopped) System.out.println("interrupted after " + taken + " updates");
        return stopped;
    }

    @Override
    public void close() throws IOException {
        try (MetricsLog m = metrics) {
            console.close();
        }
    }
}
