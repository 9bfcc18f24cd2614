package dev.mae4j;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A frozen ViT encoder for inference inside a service: evaluation mode, no gradients, no masking. It serves
 * MAE weights (the whole model or the encoder alone, as the official pretrained checkpoints are) and
 * fine-tuned models_vit classifiers (their globally pooled, fc_norm'ed features).
 *
 * <p>Thread-safe: any number of threads may call {@link #embed} at once and get exactly what serial calls
 * give. {@link #close} waits for no one: calls already inside the library finish, later ones throw
 * IllegalStateException, and weights this encoder loaded are freed when the last call leaves (a model or
 * classifier passed to {@code of} stays open: it is its owner's to close).
 */
public final class Encoder implements AutoCloseable {
    /** What {@link #embed} returns per image. */
    public enum Output {
        /** The [CLS] token after the final norm: [N, D]. */
        CLS,
        /** The mean of the patch tokens (after the final norm; for a fine-tuned classifier, then fc_norm): [N, D]. */
        MEAN,
        /** Every token after the final norm, [CLS] first: [N, 1 + L, D]. */
        TOKENS
    }

    /** The default largest batch one call takes. */
    public static final int DEFAULT_MAX_BATCH = 1024;

    private final Model mae;
    private final Classifier vit;
    private final boolean owned;
    private final int maxBatch;
    private volatile boolean closed;

    private Encoder(Model mae, Classifier vit, boolean owned, int maxBatch) {
        if (maxBatch < 1) throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        this.mae = mae;
        this.vit = vit;
        this.owned = owned;
        this.maxBatch = maxBatch;
    }

    /** Serves {@code model}'s encoder; the model stays the caller's (close it after the encoder). */
    public static Encoder of(Model model) {
        if (model == null) throw new IllegalArgumentException("model must not be null");
        return new Encoder(model, null, false, DEFAULT_MAX_BATCH);
    }

    /** Serves a fine-tuned classifier's pooled features; the classifier stays the caller's. */
    public static Encoder of(Classifier classifier) {
        if (classifier == null) throw new IllegalArgumentException("classifier must not be null");
        return new Encoder(null, classifier, false, DEFAULT_MAX_BATCH);
    }

    /**
     * Loads any weights {@link Model#load(Path, MaeConfig, Device)} reads, an encoder-only MAE checkpoint
     * (no decoder weights), or fine-tuned models_vit weights (fc_norm and head), for images of
     * {@code config}'s size: position tables of another grid are regenerated (fixed) or resized (learned).
     */
    public static Encoder load(Path path, MaeConfig config, Device device) throws IOException {
        return load(path, config, device, DEFAULT_MAX_BATCH);
    }

    /** As {@link #load(Path, MaeConfig, Device)}, refusing calls of more than {@code maxBatch} images. */
    public static Encoder load(Path path, MaeConfig config, Device device, int maxBatch) throws IOException {
        if (path == null || config == null || device == null)
            throw new IllegalArgumentException("path, config and device must not be null");
        try (WeightsReader.Loaded weights = WeightsReader.read(path)) {
            return load(path, weights, config, device, maxBatch);
        }
    }

    /** Loads weights that record their architecture (our metadata or Hugging Face's config.json). */
    public static Encoder load(Path path, Device device) throws IOException {
        return load(path, device, DEFAULT_MAX_BATCH);
    }

    /** As {@link #load(Path, Device)}, refusing calls of more than {@code maxBatch} images. */
    public static Encoder load(Path path, Device device, int maxBatch) throws IOException {
        if (path == null || device == null) throw new IllegalArgumentException("path and device must not be null");
        try (WeightsReader.Loaded weights = WeightsReader.read(path)) {
            return load(path, weights, Model.configOf(path, weights), device, maxBatch);
        }
    }

    private static Encoder load(Path path, WeightsReader.Loaded weights, MaeConfig config, Device device, int maxBatch)
            throws IOException {
        if (maxBatch < 1) throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        if (weights.tensors.containsKey("fc_norm.weight")) {
            Tensor head = weights.tensors.get("head.bias");
            if (head == null) throw new CheckpointException(path, "has fc_norm but no head.bias");
            Classifier c = Classifier.load(path, weights, config, (int) head.shape()[0], 0.0, device);
            return new Encoder(null, c, true, maxBatch);
        }
        // MAE weights: the decoder (and its mask token) may be absent, as in the official encoder-only files.
        Model m = Model.load(
                path, weights, config, device, name -> name.startsWith("decoder") || name.equals("mask_token"));
        return new Encoder(m, null, true, maxBatch);
    }

    /**
     * Features of images [N, C, H, W] (F32 or F64, N up to {@link #maxBatch()}), as {@code output} says.
     * Thread-safe.
     */
    public Tensor embed(Tensor images, Output output) {
        if (images == null || output == null) throw new IllegalArgumentException("images and output must not be null");
        if (closed) throw new IllegalStateException("this encoder is closed");
        long n = images.shape().length == 0 ? 0 : images.shape()[0];
        if (n > maxBatch)
            throw new IllegalArgumentException(
                    "a batch of " + n + " images exceeds this encoder's limit of " + maxBatch);
        if (vit != null) {
            if (output != Output.MEAN)
                throw new IllegalArgumentException(
                        "a fine-tuned classifier's encoder pools globally: only Output.MEAN is served");
            return vit.features(images);
        }
        return output == Output.TOKENS ? mae.encode(images) : mae.encodePooled(images, output == Output.CLS);
    }

    /**
     * How images must be normalised before {@link #embed}: what the weights recorded, else
     * {@link Preprocessing#defaultFor} the channel count ({@link Preprocessing#recorded()} false).
     */
    public Preprocessing preprocessing() {
        return mae != null ? mae.preprocessing() : vit.preprocessing();
    }

    /** The feature width D. */
    public int dim() {
        return config().embedDim();
    }

    public MaeConfig config() {
        return mae != null ? mae.config() : vit.config();
    }

    public int maxBatch() {
        return maxBatch;
    }

    public boolean isClosed() {
        return closed || (mae != null ? mae.isClosed() : vit.isClosed());
    }

    /**
     * Refuses later calls; frees the weights when this encoder loaded them (calls in flight finish first). Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        if (!owned) return;
        if (mae != null) mae.close();
        else vit.close();
    }
}
