package dev.mae4j;

import dev.mae4j.bindings.Mae;
import dev.mae4j.bindings.mae_config;
import dev.mae4j.bindings.mae_device;
import dev.mae4j.bindings.mae_forward_result;
import dev.mae4j.io.SafeTensors;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A masked autoencoder: a ViT encoder over the visible patches and a light decoder that reconstructs the
 * removed ones, with parameters named and initialised as the reference implementation's.
 */
public final class Model extends Network {
    private final MemorySegment handle;

    private Model(MemorySegment handle, MaeConfig config, Device device) {
        super(handle, config, device, () -> Mae.mae_model_free(handle), Mae::mae_model_params);
        this.handle = handle;
    }

    /** A freshly initialised model; the same seed gives the same weights. */
    public static Model create(MaeConfig config, Device device, long seed) {
        if (config == null) throw new IllegalArgumentException("config must not be null");
        if (device == null) throw new IllegalArgumentException("device must not be null");
        NativeLibrary.ensureLoaded();
        try (Downcall d = Downcall.holding()) {
            Arena arena = d.arena();
            MemorySegment cfg = mae_config.allocate(arena);
            config.writeTo(cfg);
            MemorySegment dev = mae_device.allocate(arena);
            device.writeTo(dev);
            MemorySegment out = d.pointer();
            NativeCalls.enter(); // initialising ViT-B/16 takes seconds: the JVM's exit waits for it
            try {
                d.check(Mae.mae_model_create(cfg, dev, seed, out));
            } finally {
                NativeCalls.exit();
            }
            MemorySegment handle = out.get(ValueLayout.ADDRESS, 0);
            try {
                return new Model(handle, config, device);
            } catch (RuntimeException e) {
                Mae.mae_model_free(handle);
                throw e;
            }
        }
    }

    /**
     * Loads weights into a model of {@code config}: safetensors or torch.save files (a bare state dict or a
     * training checkpoint holding it under 'model'), named as the reference (models_mae) or as Hugging Face's
     * ViTMAEForPreTraining (query, key and value are fused), or a Hugging Face model directory. Every
     * parameter must be present with its shape and unknown keys are refused, except that fixed position
     * tables of another image size are regenerated for {@code config}'s.
     */
    public static Model load(Path path, MaeConfig config, Device device) throws IOException {
        if (path == null) throw new IllegalArgumentException("path must not be null");
        if (config == null) throw new IllegalArgumentException("config must not be null");
        try (WeightsReader.Loaded weights = WeightsReader.read(path)) {
            return load(path, weights, config, device, name -> false);
        }
    }

    /**
     * Loads weights taking the configuration from the file itself: the metadata {@link #save} writes, or a
     * Hugging Face config.json beside the weights (or in the directory given).
     */
    public static Model load(Path path, Device device) throws IOException {
        if (path == null) throw new IllegalArgumentException("path must not be null");
        try (WeightsReader.Loaded weights = WeightsReader.read(path)) {
            return load(path, weights, configOf(path, weights), device, name -> false);
        }
    }

    /** The architecture recorded with the weights: our metadata, else Hugging Face's config.json. */
    static MaeConfig configOf(Path path, WeightsReader.Loaded weights) throws IOException {
        if (weights.metadata.containsKey("embed_dim")) {
            try {
                return MaeConfig.fromMetadata(weights.metadata, weights.precision());
            } catch (IllegalArgumentException e) {
                throw new CheckpointException(path, e.getMessage());
            }
        }
        Path hf = HuggingFaceConfig.beside(path);
        if (hf != null) return HuggingFaceConfig.read(hf, weights.precision());
        throw new CheckpointException(
                path, "records no architecture: pass a MaeConfig, or keep Hugging Face's config.json beside it");
    }

    static Model load(
            Path path,
            WeightsReader.Loaded weights,
            MaeConfig config,
            Device device,
            java.util.function.Predicate<String> optional)
            throws IOException {
        Preprocessing p = Preprocessing.of(path, weights.metadata, config.inChans());
        return loaded(create(config, device, 0), path, weights, p, optional);
    }

    /** Writes every parameter, reference key names, the configuration in the metadata; atomically. */
    public void save(Path path) throws IOException {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt");
        metadata.putAll(config().toMetadata());
        metadata.putAll(preprocessing().toMetadata());
        NetworkWeights.save(path, metadata, parameters(), this::parameter);
    }

    /**
     * Writes a Hugging Face model directory: model.safetensors named as ViTMAEForPreTraining (qkv split into
     * query, key and value), config.json and preprocessor_config.json (the normalisation), so transformers' ViTMAEForPreTraining.from_pretrained(dir) loads it.
     */
    public void saveHuggingFace(Path dir, double maskRatio) throws IOException {
        if (dir == null) throw new IllegalArgumentException("dir must not be null");
        Map<String, List<String>> names = WeightsReader.huggingFaceNames(parameters());
        List<Tensor> values = new ArrayList<>();
        try {
            List<SafeTensors.Source> sources = new ArrayList<>();
            for (ParameterInfo p : parameters()) {
                Tensor t = parameter(p.name());
                values.add(t);
                List<String> hf = names.get(p.name());
                long[] shape = t.shape();
                long rows = shape[0] / hf.size(), bytes = t.segment().byteSize() / hf.size();
                shape[0] = rows;
                for (int i = 0; i < hf.size(); i++)
                    sources.add(new SafeTensors.Source(
                            hf.get(i),
                            t.dtype().safetensorsName(),
                            shape.clone(),
                            t.segment().asSlice(i * bytes, bytes)));
            }
            java.nio.file.Files.createDirectories(dir);
            SafeTensors.write(dir.resolve("model.safetensors"), Map.of("format", "pt"), sources);
            HuggingFaceConfig.write(dir.resolve("config.json"), config(), maskRatio);
            preprocessing().writeHuggingFace(dir.resolve(Preprocessing.HF_FILE), config().imgSize());
        } finally {
            values.forEach(Tensor::close);
        }
    }

    /** A forward pass without gradients: encode the visible patches, decode all, score the removed ones. */
    public ForwardResult forward(Tensor images, Masker masker) {
        return forward(images, masker, Mae.MAE_FORWARD_DEFAULT());
    }

    /** A forward and backward pass; afterwards {@link #gradient} returns each parameter's gradient. */
    public ForwardResult forwardBackward(Tensor images, Masker masker) {
        return forward(images, masker, Mae.MAE_FORWARD_BACKWARD());
    }

    private ForwardResult forward(Tensor images, Masker masker, int flags) {
        if (images == null) throw new IllegalArgumentException("images must not be null");
        if (masker == null) throw new IllegalArgumentException("masker must not be null");
        try (Downcall d = Downcall.holding(this, images, masker)) {
            MemorySegment out = mae_forward_result.allocate(d.arena());
            d.check(Mae.mae_model_forward(handle, d.view(images), masker.handle(), flags, out));
            return new ForwardResult(
                    mae_forward_result.loss(out),
                    Tensor.adopt(mae_forward_result.pred(out)),
                    Tensor.adopt(mae_forward_result.mask(out)),
                    Tensor.adopt(mae_forward_result.ids_restore(out)),
                    Tensor.adopt(mae_forward_result.latent(out)));
        }
    }

    /**
     * Encoder features of whole images, no masking: [N, 1 + L, D], [CLS] first, then the patches in order,
     * after the encoder's final norm. No gradients.
     */
    public Tensor encode(Tensor images) {
        return encode(images, (view, out) -> Mae.mae_model_encode(handle, view, out));
    }

    /** The [CLS] token ({@code cls}) or the mean of the patch tokens of {@link #encode}, pooled natively: [N, D]. */
    Tensor encodePooled(Tensor images, boolean cls) {
        int pool = cls ? Mae.MAE_POOL_CLS() : Mae.MAE_POOL_MEAN();
        return encode(images, (view, out) -> Mae.mae_model_encode_pooled(handle, view, pool, out));
    }

    private interface EncodeCall {
        int call(MemorySegment imagesView, MemorySegment out);
    }

    private Tensor encode(Tensor images, EncodeCall call) {
        if (images == null) throw new IllegalArgumentException("images must not be null");
        try (Downcall d = Downcall.holding(this, images)) {
            MemorySegment out = d.pointer();
            d.check(call.call(d.view(images), out));
            return d.adopt(out);
        }
    }

    /**
     * Diagnostics: the address of the image data the last forward pass computed on. It equals the
     * caller's segment address when the images were used in place (matching dtype and device).
     */
    public long lastInputAddress() {
        return Downcall.readLong(out -> Mae.mae_model_last_input_address(handle, out), this);
    }

    @Override
    String describe() {
        return "model";
    }
}
