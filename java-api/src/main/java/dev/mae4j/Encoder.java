package dev.mae4j;

import dev.mae4j.bindings.Mae;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

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
    private final EncoderNetwork loaded; // what load gives: the encoder's weights alone
    private final int maxBatch;
    private volatile boolean closed;

    private Encoder(Model mae, Classifier vit, EncoderNetwork loaded, int maxBatch) {
        if (maxBatch < 1) throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        this.mae = mae;
        this.vit = vit;
        this.loaded = loaded;
        this.maxBatch = maxBatch;
    }

    /** Serves {@code model}'s encoder; the model stays the caller's (close it after the encoder). */
    public static Encoder of(Model model) {
        if (model == null) throw new IllegalArgumentException("model must not be null");
        return new Encoder(model, null, null, DEFAULT_MAX_BATCH);
    }

    /** Serves a fine-tuned classifier's pooled features; the classifier stays the caller's. */
    public static Encoder of(Classifier classifier) {
        if (classifier == null) throw new IllegalArgumentException("classifier must not be null");
        return new Encoder(null, classifier, null, DEFAULT_MAX_BATCH);
    }

    /**
     * Loads any weights {@link Model#load(Path, MaeConfig, Device)} reads, an encoder-only MAE checkpoint
     * (no decoder weights), or fine-tuned models_vit weights (fc_norm and head), for images of
     * {@code config}'s size: position tables of another grid are regenerated (fixed) or resized (learned). Only the
     * encoder is built (no decoder, no head; see {@link #parameters}), and it runs for inference: no autograd state,
     * GELU fused into the matrix products and residual additions made in place on their outputs, the linear weights
     * reordered once into oneDNN's layout where that is the faster (one more copy of them in memory), large batches
     * in cache-sized pieces.
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
        boolean classifier = weights.tensors.containsKey("fc_norm.weight");
        if (classifier
                && !weights.tensors.containsKey("head.bias")
                && !weights.tensors.containsKey(Classifier.PROBE_HEAD_BIAS))
            throw new CheckpointException(path, "has fc_norm but no head.bias");
        // Only the encoder is built: an MAE's decoder and mask token, a classifier's head are left in the file.
        Map<String, Tensor> encoderTensors = new LinkedHashMap<>(weights.tensors);
        encoderTensors
                .keySet()
                .removeIf(name -> classifier
                        ? name.startsWith("head.")
                        : name.startsWith("decoder") || name.equals("mask_token"));
        Preprocessing p = Preprocessing.of(path, weights.metadata, config.inChans());
        EncoderNetwork net;
        try {
            net = EncoderNetwork.create(config, device, classifier);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(path, e.getMessage());
        }
        Network.loaded(net, path, encoderTensors, p, name -> false);
        try {
            if (config.precision() == DType.BF16) net.setBf16(true); // trained in bfloat16: served in it
            return new Encoder(null, null, net, maxBatch);
        } catch (RuntimeException e) {
            net.close();
            throw e;
        }
    }

    /**
     * Features of images [N, C, H, W] (F32 or F64, N up to {@link #maxBatch()}), as {@code output} says.
     * Thread-safe.
     */
    public Tensor embed(Tensor images, Output output) {
        checkCall(images, output);
        if (loaded != null) return loaded.embed(images, pool(output));
        if (vit != null) return vit.features(images);
        return output == Output.TOKENS ? mae.encode(images) : mae.encodePooled(images, output == Output.CLS);
    }

    /**
     * As {@link #embed}, writing the features into {@code out} (F32 or F64, of exactly the result's shape: [N, D],
     * or [N, 1 + L, D] for {@link Output#TOKENS}), e.g. a service's preallocated off-heap buffer ({@link
     * Tensor#wrap}). Thread-safe; an encoder given a model or classifier ({@code of}) copies what {@link #embed}
     * returns.
     */
    public void embedInto(Tensor images, Output output, Tensor out) {
        checkCall(images, output);
        if (out == null) throw new IllegalArgumentException("out must not be null");
        if (loaded != null) {
            loaded.embedInto(images, pool(output), out);
            return;
        }
        try (Tensor result = embed(images, output)) {
            if (!java.util.Arrays.equals(result.shape(), out.shape()))
                throw new IllegalArgumentException("out has shape " + java.util.Arrays.toString(out.shape())
                        + ", the features " + java.util.Arrays.toString(result.shape()));
            copy(result, out);
        }
    }

    /**
     * Runs the linear layers' products in bfloat16 ({@code true}) from bfloat16 copies of their weights, made once
     * after the weights are loaded, or in the weights' precision ({@code false}); the residual stream, LayerNorms and
     * the output stay float32, as under {@code torch.autocast}. Fastest on CPUs with bfloat16 dot-product units
     * (avx512_bf16, AMX); the features' cosine to float32's is in benchmarks/README.md. Weights trained in bfloat16
     * ({@link MaeConfig#precision()} BF16) start with it on. Only for encoders from {@code load}.
     */
    public void setBf16(boolean on) {
        if (loaded == null)
            throw new UnsupportedOperationException(
                    "bfloat16 inference is for encoders from Encoder.load; this one serves a model or classifier");
        loaded.setBf16(on);
    }

    private void checkCall(Tensor images, Output output) {
        if (images == null || output == null) throw new IllegalArgumentException("images and output must not be null");
        if (closed) throw new IllegalStateException("this encoder is closed");
        long n = images.shape().length == 0 ? 0 : images.shape()[0];
        if (n > maxBatch)
            throw new IllegalArgumentException(
                    "a batch of " + n + " images exceeds this encoder's limit of " + maxBatch);
        if ((vit != null || (loaded != null && loaded.isClassifier())) && output != Output.MEAN)
            throw new IllegalArgumentException(
                    "a fine-tuned classifier's encoder pools globally: only Output.MEAN is served");
    }

    private static void copy(Tensor from, Tensor to) {
        if (from.dtype() == to.dtype() && (to.dtype() == DType.F32 || to.dtype() == DType.F64)) {
            MemorySegment.copy(
                    from.segment(), 0, to.segment(), 0, from.segment().byteSize()); // no Java array between
            return;
        }
        int n = (int) from.elementCount();
        switch (to.dtype()) {
            case F32 -> MemorySegment.copy(from.toFloatArray(), 0, to.segment(), ValueLayout.JAVA_FLOAT, 0, n);
            case F64 -> MemorySegment.copy(from.toDoubleArray(), 0, to.segment(), ValueLayout.JAVA_DOUBLE, 0, n);
            default -> throw new IllegalArgumentException("out must be F32 or F64, got " + to.dtype());
        }
    }

    private static int pool(Output output) {
        return switch (output) {
            case CLS -> Mae.MAE_POOL_CLS();
            case MEAN -> Mae.MAE_POOL_MEAN();
            case TOKENS -> Mae.MAE_POOL_TOKENS();
        };
    }

    /**
     * How images must be normalised before {@link #embed}: what the weights recorded, else
     * {@link Preprocessing#defaultFor} the channel count ({@link Preprocessing#recorded()} false).
     */
    public Preprocessing preprocessing() {
        return network().preprocessing();
    }

    /**
     * The parameters this encoder holds, named as the reference's state_dict: for an encoder from {@code load} the
     * encoder's alone (no decoder, no head); else those of the model or classifier it serves.
     */
    public java.util.List<ParameterInfo> parameters() {
        return network().parameters();
    }

    /** The feature width D. */
    public int dim() {
        return config().embedDim();
    }

    public MaeConfig config() {
        return network().config();
    }

    public int maxBatch() {
        return maxBatch;
    }

    public boolean isClosed() {
        return closed || network().isClosed();
    }

    /**
     * Refuses later calls; frees the weights when this encoder loaded them (calls in flight finish first). Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        if (loaded != null) loaded.close(); // a model or classifier given to of() stays its owner's
    }

    private Network network() {
        return loaded != null ? loaded : mae != null ? mae : vit;
    }
}
