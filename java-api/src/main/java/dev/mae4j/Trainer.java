package dev.mae4j;

import dev.mae4j.bindings.Mae;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Trains a model with AdamW exactly as torch.optim.AdamW, with the reference's parameter groups (no weight
 * decay on biases and other 1-D parameters). Each {@link #step} is one forward and backward; an update
 * follows every {@code accumulationSteps} steps (every step by default), at the schedule's learning rate.
 * With a {@link ProcessGroup} ({@link Builder#processGroup}) it trains data-parallel, as PyTorch's
 * DistributedDataParallel: it starts from rank 0's weights, each update uses the gradients averaged over the
 * ranks (all-reduced in buckets while the backward pass runs), losses are averaged over the ranks, and
 * {@link #fit} reads this rank's shard of the data. Use one thread at a time.
 */
public final class Trainer extends Training {
    private final MemorySegment handle;
    private final Model model;
    private final int accumulationSteps;
    private int pending; // micro-batches accumulated since the last update

    private Trainer(
            MemorySegment handle,
            MemorySegment training,
            Model model,
            ProcessGroup group,
            LrSchedule schedule,
            int stepThreads,
            int accumulationSteps,
            int maxNonFinite) {
        super(() -> Mae.mae_trainer_free(handle), training, group, schedule, stepThreads, maxNonFinite);
        this.handle = handle;
        this.model = model;
        this.accumulationSteps = accumulationSteps;
    }

    public static Builder builder(Model model) {
        if (model == null) throw new IllegalArgumentException("model must not be null");
        return new Builder(model);
    }

    /**
     * One step on a batch [N, C, H, W]: forward and backward, then, when it completes the accumulation
     * window, one AdamW update. Returns this batch's loss.
     */
    public double step(Tensor images, Masker masker) {
        if (accumulationSteps == 1) {
            return withImages(images, masker, (view, loss) -> {
                useLearningRate();
                Status.check(Mae.mae_trainer_step(handle, view, masker.handle(), loss));
                countUpdate();
            });
        }
        double loss = accumulate(images, masker);
        if (pending == accumulationSteps) applyUpdate();
        return loss;
    }

    /**
     * Forward and backward on a micro-batch, adding 1/accumulationSteps of its gradients to the pending sum
     * (the model's {@link Model#gradient} shows the sum); returns the micro-batch's loss.
     */
    public double accumulate(Tensor images, Masker masker) {
        int flags = pending + 1 == accumulationSteps ? Mae.MAE_ACCUMULATE_LAST() : Mae.MAE_ACCUMULATE_DEFAULT();
        double loss = withImages(
                images,
                masker,
                (view, out) -> Status.check(Mae.mae_trainer_accumulate(
                        handle, view, masker.handle(), 1.0 / accumulationSteps, flags, out)));
        pending++;
        return loss;
    }

    /** One AdamW update from the accumulated gradients, at the schedule's learning rate; clears them. */
    public void applyUpdate() {
        if (pending == 0) throw new IllegalStateException("nothing accumulated since the last update");
        try (Downcall d = Downcall.holding(this)) {
            useLearningRate();
            d.check(Mae.mae_trainer_apply(handle));
            pending = 0;
            countUpdate();
        }
    }

    /** The native handle; call between acquire and release. */
    MemorySegment handle() {
        return handle;
    }

    private interface NativeStep {
        void run(MemorySegment imagesView, MemorySegment lossOut);
    }

    private double withImages(Tensor images, Masker masker, NativeStep body) {
        if (images == null) throw new IllegalArgumentException("images must not be null");
        if (masker == null) throw new IllegalArgumentException("masker must not be null");
        try (Downcall d = Downcall.holding(this, images, masker)) {
            MemorySegment loss = d.arena().allocate(ValueLayout.JAVA_DOUBLE);
            body.run(d.view(images), loss);
            return loss.get(ValueLayout.JAVA_DOUBLE, 0);
        }
    }

    /** Micro-batches accumulated since the last update. */
    public int pendingMicroBatches() {
        return pending;
    }

    /**
     * Trains on {@code data} (with a process group: this rank's shard of each epoch's order, as PyTorch's
     * DistributedSampler; every rank calls fit with the same arguments) from where this trainer stands ({@link #stepCount()} updates done, e.g. after
     * {@link #loadCheckpoint}) until {@code fit.updates()} updates: the data position follows from the update
     * count, so a resumed fit sees exactly the batches, augmentations and masks an uninterrupted one would.
     * Returns the updates taken by this call.
     */
    public long fit(ImageDataset data, Masker masker, Fit fit, Fit.Listener listener)
            throws IOException, InterruptedException {
        return fit(data, masker, fit, listener, Map::of);
    }

    /**
     * As {@link #fit(ImageDataset, Masker, Fit, Fit.Listener)}, and each checkpoint's progress also holds what
     * {@code checkpointProgress} gives when it is written (e.g. the run's elapsed time) besides {@code fit.progress()} (the supplier's keys win).
     */
    public long fit(
            ImageDataset data,
            Masker masker,
            Fit fit,
            Fit.Listener listener,
            Supplier<Map<String, String>> checkpointProgress)
            throws IOException, InterruptedException {
        if (data == null || masker == null || fit == null || listener == null || checkpointProgress == null)
            throw new IllegalArgumentException("data, masker, fit, listener and checkpointProgress must not be null");
        if (pending != 0) throw new IllegalStateException(pending + " micro-batches are accumulated: apply them first");
        return FitLoop.run(
                data,
                fit,
                new FitLoop.Optimiser(() -> updates, () -> pending != 0, accumulationSteps, schedule, group),
                (b, loader) -> {
                    try (Tensor batch = b.images()) {
                        return step(batch, masker);
                    }
                },
                progress -> saveCheckpoint(fit.checkpoint(), masker, progress),
                update -> {},
                listener,
                checkpointProgress);
    }

    /**
     * Writes everything a run needs to continue exactly — weights, optimiser state, update count, the masker's
     * generator state and the caller's {@code progress} (e.g. epoch, position in the data) — to one
     * safetensors file, atomically (a temporary file, flushed, then renamed). Refused while an accumulation
     * is pending. Weights-only files for other tools come from {@link Model#save}. With a process group every
     * rank calls it (their maskers' states are gathered) and rank 0 writes the file.
     */
    public void saveCheckpoint(Path file, Masker masker, Map<String, String> progress) throws IOException {
        if (file == null || masker == null || progress == null)
            throw new IllegalArgumentException("file, masker and progress must not be null");
        if (pending != 0)
            throw new IllegalStateException(pending + " micro-batches are accumulated: checkpoint after the update");
        byte[][] states = group == null ? new byte[][] {masker.state()} : group.allGather(masker.state());
        if (group != null && !group.isMain()) return;
        TrainingCheckpoint.save(
                file,
                FORMAT,
                model.config(),
                model.preprocessing(),
                stepCount(),
                progress,
                checkpointed(),
                MASKER_STATE,
                states);
    }

    /**
     * Restores a checkpoint of {@link #saveCheckpoint} into this trainer, its model and {@code masker};
     * returns the progress saved with it. The model's configuration must match the file's.
     */
    public Map<String, String> loadCheckpoint(Path file, Masker masker) throws IOException {
        if (file == null || masker == null) throw new IllegalArgumentException("file and masker must not be null");
        TrainingCheckpoint.Contents contents = TrainingCheckpoint.load(
                file,
                FORMAT,
                "training",
                checkpointed(),
                MASKER_STATE,
                group == null ? 0 : group.rank(),
                masker::restoreState);
        if (contents.preprocessing() != null) model.setPreprocessing(contents.preprocessing());
        return contents.progress();
    }

    /** The model's weights and this trainer's optimiser state, as checkpoints see them. */
    private TrainingCheckpoint.Trainable checkpointed() {
        return new TrainingCheckpoint.Trainable(
                model.parameters(),
                model::parameter,
                model::setParameter,
                optimizerStateNames(),
                this::optimizerState,
                this::setOptimizerState,
                this::setStepCount);
    }

    private static final String FORMAT = "mae4j-training", MASKER_STATE = "masker.state";

    public Model model() {
        return model;
    }

    @Override
    String describe() {
        return "trainer";
    }

    /**
     * The step threads a CPU step uses unless told: for a narrow model (embedding width below 512, e.g. ViT-Ti or
     * the Fashion-MNIST presets) one shard per intra-op thread, each shard single-threaded; for a wider one (ViT-B
     * and up) 1, the intra-op threads parallelising each op. On 2 cores the shards were 1.16-1.2x faster than
     * intra-op threads at width 192 and 0.84x at width 768 (benchmarks/README.md). 1 on CUDA.
     */
    public static int defaultStepThreads(MaeConfig config, Device device) {
        if (device.type() == Device.Type.CUDA) return 1;
        return config.embedDim() < 512 ? Math.max(1, Library.threads()) : 1;
    }

    // The builders' "not set": defaultStepThreads decides at build time.
    static final int AUTO_STEP_THREADS = Integer.MIN_VALUE;

    /** A builder's stepThreads, checked, with AUTO_STEP_THREADS resolved for this model and device. */
    static int resolveStepThreads(int requested, MaeConfig config, Device device) {
        int shards = requested == AUTO_STEP_THREADS ? defaultStepThreads(config, device) : requested;
        checkStepThreads(shards);
        return shards;
    }

    static void checkStepThreads(int n) {
        if (n < 1 || n > 1024) throw new IllegalArgumentException("stepThreads must be in [1, 1024], got " + n);
    }

    /**
     * A trainer's settings: {@link OptimizerBuilder}'s, by default the paper's AdamW (lr 1.5e-4, betas 0.9/0.95,
     * weight decay 0.05, eps 1e-8) at a constant rate, and gradient accumulation.
     */
    public static final class Builder extends OptimizerBuilder<Builder> {
        private final Model model;
        private int accumulationSteps = 1;

        private Builder(Model model) {
            super(1.5e-4, 0.9, 0.95);
            this.model = model;
        }

        @Override
        Builder self() {
            return this;
        }

        /** Micro-batches per update (the reference's accum_iter); 1 by default. */
        public Builder accumulationSteps(int v) {
            accumulationSteps = v;
            return this;
        }

        public Trainer build() {
            checkShared();
            if (accumulationSteps < 1)
                throw new IllegalArgumentException("accumulationSteps must be >= 1, got " + accumulationSteps);
            int shards = resolveStepThreads(stepThreads, model.config(), model.device());
            LrSchedule lrs = lrSchedule();
            try (Downcall d = Downcall.holding(group, model)) {
                MemorySegment out = d.pointer();
                d.check(Mae.mae_trainer_create(model.handle(), adamwConfig(d.arena()), out));
                MemorySegment handle = out.get(ValueLayout.ADDRESS, 0);
                MemorySegment training = Training.configure(
                        handle,
                        Mae::mae_trainer_training,
                        shards,
                        group,
                        bucketBytes,
                        () -> Mae.mae_trainer_free(handle));
                return new Trainer(handle, training, model, group, lrs, shards, accumulationSteps, maxNonFinite);
            }
        }
    }
}
