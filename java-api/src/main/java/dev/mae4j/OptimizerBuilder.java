package dev.mae4j;

import dev.mae4j.bindings.mae_adamw_config;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * What {@link Trainer.Builder} and {@link FineTuner.Builder} share: AdamW's hyper-parameters, the learning-rate
 * schedule, the limit on non-finite updates in a row, data parallelism and step threads, with their checks.
 *
 * @param <B> the builder these setters return
 */
abstract class OptimizerBuilder<B extends OptimizerBuilder<B>> {
    double lr, beta1, beta2, eps = 1e-8, weightDecay = 0.05;
    LrSchedule schedule;
    int maxNonFinite = 5;
    ProcessGroup group;
    long bucketBytes = 25L << 20;
    int stepThreads = Trainer.AUTO_STEP_THREADS;

    OptimizerBuilder(double lr, double beta1, double beta2) {
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
    }

    abstract B self();

    /** A constant learning rate (the recipe's scaled lr); see {@link #schedule} for one per update. */
    public B learningRate(double v) {
        lr = v;
        return self();
    }

    /** AdamW's decoupled weight decay, on parameters with two or more dimensions; 0.05 by default. */
    public B weightDecay(double v) {
        weightDecay = v;
        return self();
    }

    public B betas(double b1, double b2) {
        beta1 = b1;
        beta2 = b2;
        return self();
    }

    public B eps(double v) {
        eps = v;
        return self();
    }

    /** A learning rate per update, in place of the constant {@link #learningRate}. */
    public B schedule(LrSchedule v) {
        schedule = v;
        return self();
    }

    /**
     * Updates in a row with a NaN or infinite loss or gradient (each skipped) after which a step throws
     * NonFiniteLossException; 5 by default.
     */
    public B maxConsecutiveNonFinite(int v) {
        maxNonFinite = v;
        return self();
    }

    /**
     * Trains data-parallel over {@code g}; building is then a collective (every rank builds its own), which copies
     * rank 0's weights to all ranks.
     */
    public B processGroup(ProcessGroup g) {
        group = g;
        return self();
    }

    /** Size of the gradient buckets all-reduced together (DDP's bucket_cap_mb); 25 MiB by default. */
    public B bucketBytes(long v) {
        bucketBytes = v;
        return self();
    }

    /**
     * Data parallelism inside this process, on a CPU: each batch is cut into this many shards whose forward and
     * backward passes run at once, one thread each (with its share of {@link Library#threads}), and their
     * gradients are summed in shard order. Results are reproducible for a given count and equal to one unsplit
     * step's up to rounding; random draws (masks, stochastic depth) are made for the whole batch first. Default:
     * {@link Trainer#defaultStepThreads}. Ignored on CUDA.
     */
    public B stepThreads(int v) {
        stepThreads = v;
        return self();
    }

    /** Checks the shared settings; IllegalArgumentException names the first that is out of range. */
    void checkShared() {
        if (!(lr >= 0) || Double.isInfinite(lr))
            throw new IllegalArgumentException("learningRate must be finite and >= 0, got " + lr);
        if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
        if (!(eps > 0) || Double.isInfinite(eps))
            throw new IllegalArgumentException("eps must be finite and > 0, got " + eps);
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay))
            throw new IllegalArgumentException("weightDecay must be finite and >= 0, got " + weightDecay);
        if (maxNonFinite < 1)
            throw new IllegalArgumentException("maxConsecutiveNonFinite must be >= 1, got " + maxNonFinite);
    }

    /** The schedule set, else the constant learning rate. */
    LrSchedule lrSchedule() {
        return schedule != null ? schedule : LrSchedule.constant(lr);
    }

    /** AdamW's settings as the C ABI takes them. */
    MemorySegment adamwConfig(Arena arena) {
        MemorySegment cfg = mae_adamw_config.allocate(arena);
        mae_adamw_config.lr(cfg, lr);
        mae_adamw_config.beta1(cfg, beta1);
        mae_adamw_config.beta2(cfg, beta2);
        mae_adamw_config.eps(cfg, eps);
        mae_adamw_config.weight_decay(cfg, weightDecay);
        return cfg;
    }
}
