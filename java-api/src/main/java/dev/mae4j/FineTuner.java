package dev.mae4j;

import dev.mae4j.bindings.Mae;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Fine-tunes a {@link Classifier} end to end as the reference's main_finetune.py: label-smoothed
 * cross-entropy, AdamW (betas 0.9/0.999) with layer-wise learning-rate decay — each block's rate is
 * {@code layerDecay} times the one above it, the embeddings lowest, head and fc_norm at the full rate — and
 * no weight decay on 1-D parameters, pos_embed and cls_token. With a {@link ProcessGroup}
 * ({@link Builder#processGroup}) it trains data-parallel as {@link Trainer} does: rank 0's weights on every rank,
 * gradients and losses averaged over the ranks. Use one thread at a time.
 */
public final class FineTuner extends Training {
    private final MemorySegment handle;
    private final Classifier classifier;
    private final int trainableBlocks;

    private FineTuner(Builder b, MemorySegment handle, MemorySegment training, LrSchedule schedule, int stepThreads) {
        super(() -> Mae.mae_finetuner_free(handle), training, b.group, schedule, stepThreads, b.maxNonFinite);
        this.handle = handle;
        this.classifier = b.classifier;
        this.trainableBlocks = b.trainableBlocks;
    }

    /**
     * The blocks this tuner trains, the last ones, with fc_norm and the head (the rest of the encoder frozen: no
     * gradient computed for it); the classifier's depth for full fine-tuning; 0 for the linear probe (the head's
     * linear layer alone).
     */
    public int trainableBlocks() {
        return trainableBlocks;
    }

    public static Builder builder(Classifier classifier) {
        if (classifier == null) throw new IllegalArgumentException("classifier must not be null");
        return new Builder(classifier);
    }

    /** One update from images [N, C, H, W] and their labels [N] (I64), at the schedule's rate; returns the loss. */
    public double step(Tensor images, Tensor labels) {
        if (images == null || labels == null) throw new IllegalArgumentException("images and labels must not be null");
        return update(images, labels, false);
    }

    /**
     * One update from images [N, C, H, W] and soft targets [N, classes] (F32 or F64, rows of non-negative values
     * summing to 1, e.g. {@link dev.mae4j.data.Mixup#targets}) with timm's SoftTargetCrossEntropy, at the schedule's
     * rate; the builder's label smoothing is not added (the targets carry their own). Returns the loss.
     */
    public double stepSoftTargets(Tensor images, Tensor targets) {
        if (images == null || targets == null)
            throw new IllegalArgumentException("images and targets must not be null");
        return update(images, targets, true);
    }

    private double update(Tensor images, Tensor labels, boolean soft) {
        try (Downcall d = Downcall.holding(this, images, labels)) {
            useLearningRate();
            MemorySegment iv = d.view(images), lv = d.view(labels);
            MemorySegment loss = d.arena().allocate(ValueLayout.JAVA_DOUBLE);
            d.check(
                    soft
                            ? Mae.mae_finetuner_step_soft(handle, iv, lv, loss)
                            : Mae.mae_finetuner_step(handle, iv, lv, loss));
            countUpdate();
            return loss.get(ValueLayout.JAVA_DOUBLE, 0);
        }
    }

    /** One update from batch {@code batchIndex}'s images and labels, e.g. with Mixup's soft targets. */
    @FunctionalInterface
    public interface LabelledStep {
        double step(FineTuner tuner, long batchIndex, Tensor images, long[] labels) throws IOException;
    }

    /**
     * Fine-tunes on {@code data} as {@link Trainer#fit} pretrains (this rank's shard of each epoch's order; resumable
     * at the exact batch from {@link #stepCount()}), one update per batch of images and labels through
     * {@link #step}, until {@code fit.updates()} updates. Returns the updates taken by this call.
     */
    public long fit(LabelledDataset data, Fit fit, Fit.Listener listener) throws IOException, InterruptedException {
        return fit(
                data,
                fit,
                (tuner, index, images, labels) -> {
                    try (Tensor y = Tensor.fromLongs(labels, labels.length)) {
                        return tuner.step(images, y);
                    }
                },
                update -> {},
                listener,
                Map::of);
    }

    /**
     * As {@link #fit(LabelledDataset, Fit, Fit.Listener)}, each batch through {@code step}; after each update
     * {@code evaluation} (before the checkpoint, so that the checkpoint can carry it), and each checkpoint's progress
     * also holds what {@code checkpointProgress} gives when it is written (its keys win over {@code fit.progress()}).
     */
    public long fit(
            LabelledDataset data,
            Fit fit,
            LabelledStep step,
            Fit.Evaluation evaluation,
            Fit.Listener listener,
            Supplier<Map<String, String>> checkpointProgress)
            throws IOException, InterruptedException {
        if (data == null
                || fit == null
                || step == null
                || evaluation == null
                || listener == null
                || checkpointProgress == null)
            throw new IllegalArgumentException(
                    "data, fit, step, evaluation, listener and checkpointProgress must not be null");
        return FitLoop.run(
                data,
                fit,
                new FitLoop.Optimiser(() -> updates, () -> false, 1, schedule, group),
                (b, loader) -> {
                    int[] indices = loader.indices(b.index());
                    long[] labels = new long[indices.length];
                    for (int i = 0; i < indices.length; i++) labels[i] = data.label(indices[i]);
                    try (Tensor images = b.images()) {
                        return step.step(this, b.index(), images, labels);
                    }
                },
                progress -> saveCheckpoint(fit.checkpoint(), progress),
                evaluation,
                listener,
                checkpointProgress);
    }

    /**
     * Writes everything a fine-tune needs to continue exactly — the classifier's weights, the optimiser state, the
     * update count, the stochastic-depth generator's state and the caller's {@code progress} — to one safetensors
     * file, atomically (a temporary file, flushed, then renamed). With a process group every rank calls it (their
     * generators' states are gathered) and rank 0 writes the file. The weights alone come from {@link Classifier#save}.
     */
    public void saveCheckpoint(Path file, Map<String, String> progress) throws IOException {
        if (file == null || progress == null) throw new IllegalArgumentException("file and progress must not be null");
        byte[] mine = classifier.dropPathState();
        byte[][] states = group == null ? new byte[][] {mine} : group.allGather(mine);
        if (group != null && !group.isMain()) return;
        Map<String, String> withBlocks = new java.util.LinkedHashMap<>(progress);
        withBlocks.put(TRAINABLE_BLOCKS, Integer.toString(trainableBlocks));
        TrainingCheckpoint.save(
                file,
                FORMAT,
                classifier.config(),
                classifier.preprocessing(),
                stepCount(),
                withBlocks,
                checkpointed(),
                DROP_PATH_STATE,
                states);
    }

    /**
     * Restores a checkpoint of {@link #saveCheckpoint} into this fine-tuner and its classifier; returns the progress
     * saved with it. The classifier's architecture and class count must match the file's, and the file must have
     * been written by a tuner training as many blocks ({@link #trainableBlocks()}).
     */
    public Map<String, String> loadCheckpoint(Path file) throws IOException {
        if (file == null) throw new IllegalArgumentException("file must not be null");
        String written, format;
        try (var st = WeightsReader.open(file)) {
            written = st.metadata().get("progress." + TRAINABLE_BLOCKS);
            format = st.metadata().get("format");
        }
        // (a file of another kind is refused below, naming its format)
        if (FORMAT.equals(format) && !Integer.toString(trainableBlocks).equals(written))
            throw new CheckpointException(
                    file,
                    "was written by a fine-tuner training " + (written == null ? "an unrecorded number of" : written)
                            + " blocks; this one trains " + trainableBlocks);
        TrainingCheckpoint.Contents contents = TrainingCheckpoint.load(
                file,
                FORMAT,
                "fine-tuning",
                checkpointed(),
                DROP_PATH_STATE,
                group == null ? 0 : group.rank(),
                classifier::restoreDropPathState);
        if (contents.preprocessing() != null) classifier.setPreprocessing(contents.preprocessing());
        Map<String, String> progress = new java.util.LinkedHashMap<>(contents.progress());
        progress.remove(TRAINABLE_BLOCKS);
        return progress;
    }

    /** The classifier's weights and this tuner's optimiser state, as checkpoints see them. */
    private TrainingCheckpoint.Trainable checkpointed() {
        return new TrainingCheckpoint.Trainable(
                classifier.parameters(),
                classifier::parameter,
                classifier::setParameter,
                optimizerStateNames(),
                this::optimizerState,
                this::setOptimizerState,
                this::setStepCount);
    }

    private static final String FORMAT = "mae4j-finetuning", DROP_PATH_STATE = "drop_path.state";
    // in the checkpoint's progress: the blocks the tuner that wrote it trained
    private static final String TRAINABLE_BLOCKS = "fine_tuner.trainable_blocks";

    public Classifier classifier() {
        return classifier;
    }

    @Override
    String describe() {
        return "fine-tuner";
    }

    /**
     * A fine-tuner's settings, with main_finetune.py's defaults: {@link OptimizerBuilder}'s (AdamW betas 0.9/0.999,
     * eps 1e-8, weight decay 0.05, lr 1e-3 constant unless a schedule is given), layer-wise learning-rate decay 0.75
     * and label smoothing 0.1.
     */
    public static final class Builder extends OptimizerBuilder<Builder> {
        private final Classifier classifier;
        private double layerDecay = 0.75, labelSmoothing = 0.1;
        private int trainableBlocks;

        private Builder(Classifier classifier) {
            super(1e-3, 0.9, 0.999);
            this.classifier = classifier;
            this.trainableBlocks = classifier.config().depth();
        }

        @Override
        Builder self() {
            return this;
        }

        /** The ratio of a block's learning rate to the next higher one's; 1 turns layer decay off. */
        public Builder layerDecay(double v) {
            layerDecay = v;
            return this;
        }

        public Builder labelSmoothing(double v) {
            labelSmoothing = v;
            return this;
        }

        /**
         * Partial fine-tuning, the paper's third protocol: train the last {@code k} blocks, fc_norm and the head,
         * and freeze the patch embedding, position table, [CLS] and the first depth − k blocks (no gradient is
         * computed for them; backward stops below the first trained block). {@code k} in [0, depth]; the default,
         * depth, trains everything, as main_finetune.py. {@code k} = 0 is the linear probe: the classifier gets the
         * paper's linear-probe head (BatchNorm1d without affine parameters before the linear layer, as
         * main_linprobe.py; see {@link Classifier#hasProbeHead}) and only its linear layer trains, on features of the
         * frozen encoder computed without stochastic depth. A classifier with that head takes only {@code k} = 0.
         */
        public Builder trainableBlocks(int k) {
            trainableBlocks = k;
            return this;
        }

        public FineTuner build() {
            checkShared();
            if (!(layerDecay > 0 && layerDecay <= 1))
                throw new IllegalArgumentException("layerDecay must be in (0, 1], got " + layerDecay);
            if (!(labelSmoothing >= 0 && labelSmoothing < 1))
                throw new IllegalArgumentException("labelSmoothing must be in [0, 1), got " + labelSmoothing);
            int depth = classifier.config().depth();
            if (trainableBlocks < 0 || trainableBlocks > depth)
                throw new IllegalArgumentException(
                        "trainableBlocks must be in [0, " + depth + "], got " + trainableBlocks);
            int shards = Trainer.resolveStepThreads(stepThreads, classifier.config(), classifier.device());
            LrSchedule lrs = lrSchedule();
            try (Downcall d = Downcall.holding(group, classifier)) {
                MemorySegment out = d.pointer();
                d.check(Mae.mae_finetuner_create(
                        classifier.handle(), adamwConfig(d.arena()), layerDecay, labelSmoothing, trainableBlocks, out));
                classifier.refreshParameters(); // which are trained now
                MemorySegment handle = out.get(ValueLayout.ADDRESS, 0);
                MemorySegment training = Training.configure(
                        handle,
                        Mae::mae_finetuner_training,
                        shards,
                        group,
                        bucketBytes,
                        () -> Mae.mae_finetuner_free(handle));
                return new FineTuner(this, handle, training, lrs, shards);
            }
        }
    }
}
