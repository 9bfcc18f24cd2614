package dev.mae4j;

import dev.mae4j.bindings.Mae;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An image classifier for fine-tuning, as the reference's models_vit.VisionTransformer with global pooling:
 * an MAE encoder over all patches, the patch tokens mean-pooled, fc_norm, a linear head. It starts from an
 * encoder's weights (pretrained, or fresh for a from-scratch baseline) and owns a copy of them.
 * Parameters are named as that model's state_dict (cls_token, pos_embed, patch_embed.*, blocks.*, head.*,
 * fc_norm.*). Inference may run on many threads; training steps take the model exclusively.
 */
public final class Classifier extends Network {
    private final MemorySegment handle;
    private final int numClasses;
    private final double dropPathRate;

    private Classifier(MemorySegment handle, MaeConfig config, Device device, int numClasses, double dropPathRate) {
        super(handle, config, device, () -> Mae.mae_classifier_free(handle), Mae::mae_classifier_params);
        this.handle = handle;
        this.numClasses = numClasses;
        this.dropPathRate = dropPathRate;
    }

    /**
     * A classifier whose encoder starts as {@code encoder}'s weights (which it copies; the encoder may be
     * closed afterwards). Stochastic depth rises linearly over the blocks from 0 to {@code dropPathRate}
     * (the reference fine-tunes ViT-B with 0.1); {@code seed} drives it and the head's initialisation.
     */
    public static Classifier fromEncoder(Model encoder, int numClasses, double dropPathRate, long seed) {
        if (encoder == null) throw new IllegalArgumentException("encoder must not be null");
        if (numClasses < 1) throw new IllegalArgumentException("numClasses must be >= 1, got " + numClasses);
        if (!(dropPathRate >= 0 && dropPathRate < 1))
            throw new IllegalArgumentException("dropPathRate must be in [0, 1), got " + dropPathRate);
        try (Downcall d = Downcall.holding(encoder)) {
            MemorySegment out = d.pointer();
            d.check(Mae.mae_classifier_create(encoder.handle(), numClasses, dropPathRate, seed, out));
            MemorySegment h = out.get(ValueLayout.ADDRESS, 0);
            try {
                Classifier c = new Classifier(h, encoder.config(), encoder.device(), numClasses, dropPathRate);
                c.preprocessing = encoder.preprocessing();
                return c;
            } catch (RuntimeException e) {
                Mae.mae_classifier_free(h);
                throw e;
            }
        }
    }

    /** A classifier with a freshly initialised encoder (the same weights as {@code Model.create(config, device, seed)}). */
    public static Classifier create(MaeConfig config, int numClasses, double dropPathRate, Device device, long seed) {
        try (Model fresh = Model.create(config, device, seed)) {
            return fromEncoder(fresh, numClasses, dropPathRate, seed);
        }
    }

    /** Loads a classifier written by {@link #save}, taking the architecture from its metadata. */
    public static Classifier load(Path path, Device device) throws IOException {
        if (path == null) throw new IllegalArgumentException("path must not be null");
        try (WeightsReader.Loaded weights = WeightsReader.read(path)) {
            Map<String, String> meta = weights.metadata;
            if (!meta.containsKey(NUM_CLASSES))
                throw new CheckpointException(
                        path,
                        "metadata has no " + NUM_CLASSES
                                + ": not a classifier written by mae4j (MAE pretraining weights load with Model.load; "
                                + "fine-tuned models_vit weights with Classifier.load(path, config, device))");
            MaeConfig config;
            int classes;
            double dropPath;
            try {
                config = MaeConfig.fromMetadata(meta, weights.precision());
                classes = Integer.parseInt(meta.get(NUM_CLASSES));
                dropPath = Double.parseDouble(meta.getOrDefault(DROP_PATH_RATE, "0"));
            } catch (IllegalArgumentException e) {
                throw new CheckpointException(path, e.getMessage());
            }
            return load(path, weights, config, classes, dropPath, device);
        }
    }

    /**
     * Loads fine-tuned weights named as the reference's models_vit (global pooling: fc_norm and head) from a
     * safetensors or torch.save file, e.g. the official mae_finetuned_vit_base.pth; the class count comes
     * from the head. A learned position table of another image size is resized bicubically to {@code config}'s.
     */
    public static Classifier load(Path path, MaeConfig config, Device device) throws IOException {
        if (path == null || config == null) throw new IllegalArgumentException("path and config must not be null");
        try (WeightsReader.Loaded weights = WeightsReader.read(path)) {
            Tensor head = weights.tensors.getOrDefault("head.bias", weights.tensors.get(PROBE_HEAD_BIAS));
            if (head == null || !weights.tensors.containsKey("fc_norm.weight"))
                throw new CheckpointException(
                        path,
                        "has no head.bias (or " + PROBE_HEAD_BIAS
                                + ") and fc_norm.weight: not a globally pooled models_vit classifier");
            return load(path, weights, config, (int) head.shape()[0], 0.0, device);
        }
    }

    static Classifier load(
            Path path, WeightsReader.Loaded weights, MaeConfig config, int classes, double dropPath, Device device)
            throws IOException {
        Preprocessing p = Preprocessing.of(path, weights.metadata, config.inChans());
        Classifier c;
        try {
            c = create(config, classes, dropPath, device, 0);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(path, e.getMessage());
        }
        if (weights.tensors.containsKey(PROBE_HEAD_BIAS)) c.addProbeHead();
        return loaded(c, path, weights, p, name -> false);
    }

    // the linear layer's bias behind the linear-probe head's BatchNorm
    static final String PROBE_HEAD_BIAS = "head.1.bias";

    /**
     * Whether the head is the paper's linear-probe head, BatchNorm1d without affine parameters before the linear
     * layer (added by a {@link FineTuner} with {@code trainableBlocks(0)}, and by loading weights that have it).
     */
    public boolean hasProbeHead() {
        return parameters().stream().anyMatch(p -> p.name().equals(PROBE_HEAD_BIAS));
    }

    /** Gives this classifier the linear-probe head (mae_classifier_probe_head_add); nothing if it has it. */
    void addProbeHead() {
        try (Downcall d = Downcall.holding(this)) {
            d.check(Mae.mae_classifier_probe_head_add(handle));
            refreshParameters();
        }
    }

    /** Writes every parameter with the architecture in the metadata, atomically. */
    public void save(Path path) throws IOException {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt");
        metadata.putAll(config().toMetadata());
        metadata.put(NUM_CLASSES, Integer.toString(numClasses));
        metadata.put(DROP_PATH_RATE, Double.toString(dropPathRate));
        metadata.putAll(preprocessing().toMetadata());
        NetworkWeights.save(path, metadata, parameters(), this::parameter);
    }

    /** Class scores [N, numClasses] of images [N, C, H, W]: evaluation mode, no gradients. Thread-safe. */
    public Tensor logits(Tensor images) {
        return evaluate(images, (view, out) -> Mae.mae_classifier_logits(handle, view, out));
    }

    /** The head's input [N, D]: patch tokens mean-pooled, then fc_norm. Evaluation mode; thread-safe. */
    public Tensor features(Tensor images) {
        return evaluate(images, (view, out) -> Mae.mae_classifier_features(handle, view, out));
    }

    private interface ImagesCall {
        int call(MemorySegment imagesView, MemorySegment out);
    }

    // A downcall from images to a tensor the library returns.
    private Tensor evaluate(Tensor images, ImagesCall call) {
        if (images == null) throw new IllegalArgumentException("images must not be null");
        try (Downcall d = Downcall.holding(this, images)) {
            MemorySegment out = d.pointer();
            d.check(call.call(d.view(images), out));
            return d.adopt(out);
        }
    }

    /** The most likely class of each image. */
    public int[] predict(Tensor images) {
        try (Tensor logits = logits(images)) {
            float[] v = logits.toFloatArray();
            int n = (int) logits.shape()[0];
            int[] best = new int[n];
            for (int i = 0; i < n; i++)
                for (int k = 1; k < numClasses; k++)
                    if (v[i * numClasses + k] > v[i * numClasses + best[i]]) best[i] = k;
            return best;
        }
    }

    /** The label-smoothed cross-entropy of a batch in evaluation mode; labels [N] I64. */
    public double loss(Tensor images, Tensor labels, double labelSmoothing) {
        return loss(images, labels, labelSmoothing, Mae.MAE_FORWARD_DEFAULT());
    }

    /** As {@link #loss} in training mode (stochastic depth on), then backward: {@link #gradient} reads the result. */
    public double lossBackward(Tensor images, Tensor labels, double labelSmoothing) {
        return loss(images, labels, labelSmoothing, Mae.MAE_FORWARD_BACKWARD());
    }

    private double loss(Tensor images, Tensor labels, double labelSmoothing, int flags) {
        if (images == null || labels == null) throw new IllegalArgumentException("images and labels must not be null");
        try (Downcall d = Downcall.holding(this, images, labels)) {
            MemorySegment out = d.arena().allocate(ValueLayout.JAVA_DOUBLE);
            d.check(Mae.mae_classifier_loss(handle, d.view(images), d.view(labels), labelSmoothing, flags, out));
            return out.get(ValueLayout.JAVA_DOUBLE, 0);
        }
    }

    public int numClasses() {
        return numClasses;
    }

    public double dropPathRate() {
        return dropPathRate;
    }

    /** The state of the generator that draws stochastic depth, to resume a fine-tune's exact draws later. */
    public byte[] dropPathState() {
        try (Downcall d = Downcall.holding(this)) {
            return GeneratorStates.get(out -> Mae.mae_classifier_rng_state_get(handle, out));
        }
    }

    /** Restores a state from {@link #dropPathState()}: the following draws are the ones that followed it then. */
    public void restoreDropPathState(byte[] state) {
        try (Downcall d = Downcall.holding(this)) {
            GeneratorStates.set(state, view -> Mae.mae_classifier_rng_state_set(handle, view));
        }
    }

    @Override
    String describe() {
        return "classifier";
    }

    private static final String NUM_CLASSES = "num_classes", DROP_PATH_RATE = "drop_path_rate";
}
