package dev.mae4j;

import dev.mae4j.bindings.Mae;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * What {@link Trainer} and {@link FineTuner} share: the native training (mae_training, borrowed from the handle)
 * with its learning rate, update and skip counts and optimiser state; the schedule; the stop after too many
 * non-finite updates in a row; step threads and the process group.
 */
abstract class Training extends NativeResource {
    private final MemorySegment training; // mae_training, borrowed from the trainer's or fine-tuner's handle
    final ProcessGroup group; // null when training alone
    final LrSchedule schedule;
    private final int stepThreads;
    private final int maxNonFinite;
    long updates; // mirrors the native step count
    private double currentLr = Double.NaN;
    private long skipped; // mirrors the native skipped count
    private int consecutiveNonFinite;

    Training(
            Runnable free,
            MemorySegment training,
            ProcessGroup group,
            LrSchedule schedule,
            int stepThreads,
            int maxNonFinite) {
        super(free);
        this.training = training;
        this.group = group;
        this.schedule = schedule;
        this.stepThreads = stepThreads;
        this.maxNonFinite = maxNonFinite;
    }

    /**
     * Borrows a new native trainer's or fine-tuner's training and sets its step threads, then its process group (a
     * collective); frees the handle with {@code free} when either fails. Returns the training.
     */
    static MemorySegment configure(
            MemorySegment handle,
            BorrowCall borrow,
            int stepThreads,
            ProcessGroup group,
            long bucketBytes,
            Runnable free) {
        MemorySegment training;
        try {
            training = borrow(handle, borrow);
        } catch (RuntimeException e) {
            free.run();
            throw e;
        }
        Status.check(Mae.mae_training_set_step_threads(training, stepThreads), free);
        if (group != null) group.attach(training, bucketBytes, free);
        return training;
    }

    /** Sets the schedule's rate for the next update; skips the downcall when it has not changed. Call acquired. */
    final void useLearningRate() {
        double lr = schedule.lr(updates);
        if (lr == currentLr) return;
        Status.check(Mae.mae_training_set_lr(training, lr));
        currentLr = lr;
    }

    /**
     * Counts an update the library took or skipped; a skipped one (non-finite loss or gradient) counts towards the
     * limit, a finite one resets it. Call acquired.
     */
    final void countUpdate() {
        updates++;
        long now = Downcall.readLong(out -> Mae.mae_training_skipped_count(training, out));
        consecutiveNonFinite = now > skipped ? consecutiveNonFinite + 1 : 0;
        skipped = now;
        if (consecutiveNonFinite >= maxNonFinite) throw new NonFiniteLossException(consecutiveNonFinite, skipped);
    }

    /**
     * Updates skipped so far because a loss or gradient was NaN or infinite (their weights and AdamW moments were
     * left as they were); {@code maxConsecutiveNonFinite} of them in a row stop training.
     */
    public long skippedUpdates() {
        return skipped;
    }

    /** The learning rate the next update will use (with layer decay: the head's, the highest). */
    public double learningRate() {
        return schedule.lr(updates);
    }

    /** The shards each CPU step splits its batch into (the builder's stepThreads, else defaultStepThreads). */
    public int stepThreads() {
        return stepThreads;
    }

    /**
     * The shards the last step (or micro-batch) actually cut its batch into, as libmae reports it: {@link
     * #stepThreads()} at most, fewer for a smaller batch, 1 when it was not split (one step thread, one image, CUDA);
     * 0 before any step.
     */
    public int lastStepShards() {
        return Downcall.readInt(out -> Mae.mae_training_last_step_shards(training, out), this);
    }

    /** The group this trains with, or null when it trains alone. */
    public ProcessGroup processGroup() {
        return group;
    }

    /** Updates taken so far, skipped (non-finite) ones included: the position schedules and data follow. */
    public long stepCount() {
        return Downcall.readLong(out -> Mae.mae_training_step_count(training, out), this);
    }

    /** Sets the update count, e.g. when resuming: the schedule and AdamW's bias correction continue from it. */
    public void setStepCount(long updates) {
        Downcall.run(() -> Mae.mae_training_set_step_count(training, updates), this);
        this.updates = updates;
    }

    /**
     * The optimiser state's entries: "exp_avg.NAME" and "exp_avg_sq.NAME" per trained parameter, then "step" (F64
     * [1]): the updates AdamW has applied, which its bias correction counts, as torch's state["step"]; unlike
     * {@link #stepCount()} it does not count skipped (non-finite) updates.
     */
    public List<String> optimizerStateNames() {
        try (Downcall d = Downcall.holding(this)) {
            return NetworkWeights.names(
                    out -> Mae.mae_training_state_count(training, out),
                    (i, name) -> Mae.mae_training_state_info(training, i, name, MemorySegment.NULL));
        }
    }

    /** A copy of one optimiser state entry. */
    public Tensor optimizerState(String name) {
        return getNamed(name, (n, out) -> Mae.mae_training_state_get(training, n, out));
    }

    /** Overwrites one optimiser state entry; the shape must match. */
    public void setOptimizerState(String name, Tensor value) {
        setNamed(name, value, (n, view) -> Mae.mae_training_state_set(training, n, view));
    }
}
