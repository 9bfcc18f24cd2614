package dev.mae4j;

import dev.mae4j.bindings.Mae;
import dev.mae4j.bindings.mae_config;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The architecture of an MAE, named as the reference MaskedAutoencoderViT's arguments.
 *
 * @param precision F32 (the default) or F64, for parameters and activations; or BF16, mixed precision: F32
 *                  parameters and AdamW, the forward pass autocast to bfloat16 as torch.autocast does
 * @param layerNormEps eps of every LayerNorm: 1e-6 as the reference (timm), 1e-12 in Hugging Face's ViTMAE
 */
public record MaeConfig(
        int imgSize,
        int patchSize,
        int inChans,
        int embedDim,
        int depth,
        int numHeads,
        int decoderEmbedDim,
        int decoderDepth,
        int decoderNumHeads,
        double mlpRatio,
        boolean normPixLoss,
        DType precision,
        double layerNormEps) {

    /** Validates every field; throws IllegalArgumentException naming the first bad one. */
    public MaeConfig {
        positive("imgSize", imgSize);
        positive("patchSize", patchSize);
        positive("inChans", inChans);
        positive("embedDim", embedDim);
        positive("depth", depth);
        positive("numHeads", numHeads);
        positive("decoderEmbedDim", decoderEmbedDim);
        positive("decoderDepth", decoderDepth);
        positive("decoderNumHeads", decoderNumHeads);
        if (imgSize % patchSize != 0)
            throw new IllegalArgumentException(
                    "imgSize (" + imgSize + ") must be divisible by patchSize (" + patchSize + ")");
        if (embedDim % numHeads != 0)
            throw new IllegalArgumentException(
                    "embedDim (" + embedDim + ") must be divisible by numHeads (" + numHeads + ")");
        if (decoderEmbedDim % decoderNumHeads != 0)
            throw new IllegalArgumentException("decoderEmbedDim (" + decoderEmbedDim
                    + ") must be divisible by decoderNumHeads (" + decoderNumHeads + ")");
        if (embedDim % 4 != 0)
            throw new IllegalArgumentException(
                    "embedDim must be a multiple of 4 (2-D sine-cosine position embedding), got " + embedDim);
        if (decoderEmbedDim % 4 != 0)
            throw new IllegalArgumentException(
                    "decoderEmbedDim must be a multiple of 4 (2-D sine-cosine position embedding), got "
                            + decoderEmbedDim);
        if (!(mlpRatio > 0)
                || Double.isInfinite(mlpRatio)
                || (long) (embedDim * mlpRatio) < 1
                || (long) (decoderEmbedDim * mlpRatio) < 1)
            throw new IllegalArgumentException(
                    "mlpRatio must be positive and give an MLP width of at least 1, got " + mlpRatio);
        if (precision != DType.F32 && precision != DType.F64 && precision != DType.BF16)
            throw new IllegalArgumentException("precision must be F32, F64 or BF16, got " + precision);
        if (!(layerNormEps > 0) || Double.isInfinite(layerNormEps))
            throw new IllegalArgumentException("layerNormEps must be finite and > 0, got " + layerNormEps);
    }

    /** The configuration with the reference's LayerNorm eps, 1e-6 (the record's first form). */
    public MaeConfig(
            int imgSize,
            int patchSize,
            int inChans,
            int embedDim,
            int depth,
            int numHeads,
            int decoderEmbedDim,
            int decoderDepth,
            int decoderNumHeads,
            double mlpRatio,
            boolean normPixLoss,
            DType precision) {
        this(
                imgSize,
                patchSize,
                inChans,
                embedDim,
                depth,
                numHeads,
                decoderEmbedDim,
                decoderDepth,
                decoderNumHeads,
                mlpRatio,
                normPixLoss,
                precision,
                DEFAULT_LAYER_NORM_EPS);
    }

    /** timm's LayerNorm eps, which the reference uses. */
    public static final double DEFAULT_LAYER_NORM_EPS = 1e-6;

    private static void positive(String field, int value) {
        if (value <= 0) throw new IllegalArgumentException(field + " must be positive, got " + value);
    }

    /** Patches per image side. */
    public int gridSize() {
        return imgSize / patchSize;
    }

    /** L, the number of patches per image. */
    public int numPatches() {
        return gridSize() * gridSize();
    }

    /** p·p·C, the values per patch. */
    public int patchDim() {
        return patchSize * patchSize * inChans;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this configuration. */
    public Builder toBuilder() {
        return new Builder()
                .imgSize(imgSize)
                .patchSize(patchSize)
                .inChans(inChans)
                .embedDim(embedDim)
                .depth(depth)
                .numHeads(numHeads)
                .decoderEmbedDim(decoderEmbedDim)
                .decoderDepth(decoderDepth)
                .decoderNumHeads(decoderNumHeads)
                .mlpRatio(mlpRatio)
                .normPixLoss(normPixLoss)
                .precision(precision)
                .layerNormEps(layerNormEps);
    }

    /**
     * The named architectures, name to a one-line description, in the registry's order: libmae holds the one list
     * (native/src/presets.cpp) that this API, the CLI and the benchmarks read.
     */
    public static Map<String, String> presets() {
        NativeLibrary.ensureLoaded();
        Map<String, String> all = new LinkedHashMap<>();
        try (Downcall d = Downcall.holding()) {
            MemorySegment count = d.arena().allocate(ValueLayout.JAVA_INT);
            d.check(Mae.mae_preset_count(count));
            MemorySegment name = d.pointer(), description = d.pointer();
            for (int i = 0; i < count.get(ValueLayout.JAVA_INT, 0); i++) {
                d.check(Mae.mae_preset_info(i, name, description));
                all.put(
                        NativeLibrary.string(name.get(ValueLayout.ADDRESS, 0)),
                        NativeLibrary.string(description.get(ValueLayout.ADDRESS, 0)));
            }
        }
        return Collections.unmodifiableMap(all);
    }

    /**
     * The architecture named {@code name} (one of {@link #presets()}: vit-base16, fashion-mnist, ...); throws
     * IllegalArgumentException listing the names for any other.
     */
    public static MaeConfig preset(String name) {
        if (name == null) throw new IllegalArgumentException("preset name must not be null");
        NativeLibrary.ensureLoaded();
        try (Downcall d = Downcall.holding()) {
            MemorySegment s = mae_config.allocate(d.arena());
            d.check(Mae.mae_preset_config(d.arena().allocateFrom(name), s));
            return readFrom(s);
        }
    }

    /** MAE ViT-B/16 with the paper's decoder (512 wide, 8 blocks, 16 heads), 224 px RGB: preset vit-base16. */
    public static MaeConfig vitBase16() {
        return preset("vit-base16");
    }

    /** MAE ViT-L/16 with the paper's decoder, 224 px RGB: preset vit-large16. */
    public static MaeConfig vitLarge16() {
        return preset("vit-large16");
    }

    /** MAE ViT-H/14 with the paper's decoder, 224 px RGB: preset vit-huge14. */
    public static MaeConfig vitHuge14() {
        return preset("vit-huge14");
    }

    /**
     * The Fashion-MNIST default: 28 px grey images, patch 4 (49 patches), a 192-wide 6-block encoder: preset
     * fashion-mnist.
     */
    public static MaeConfig fashionMnist() {
        return preset("fashion-mnist");
    }

    /**
     * The default of {@code mae pretrain}: Fashion-MNIST with a 128×4 encoder and a 64×2 decoder, sized so
     * that pretraining and the probes fit in minutes on two CPU cores: preset fashion-mnist-small.
     */
    public static MaeConfig fashionMnistSmall() {
        return preset("fashion-mnist-small");
    }

    /** A tiny model for tests: 8 px, 2 channels, patch 2 (16 patches), widths 8 and 12. */
    public static MaeConfig tiny() {
        return builder()
                .imgSize(8)
                .patchSize(2)
                .inChans(2)
                .embedDim(8)
                .depth(2)
                .numHeads(2)
                .decoderEmbedDim(12)
                .decoderDepth(1)
                .decoderNumHeads(3)
                .mlpRatio(2.0)
                .build();
    }

    static MaeConfig readFrom(MemorySegment s) {
        return new MaeConfig(
                mae_config.img_size(s),
                mae_config.patch_size(s),
                mae_config.in_chans(s),
                mae_config.embed_dim(s),
                mae_config.depth(s),
                mae_config.num_heads(s),
                mae_config.decoder_embed_dim(s),
                mae_config.decoder_depth(s),
                mae_config.decoder_num_heads(s),
                mae_config.mlp_ratio(s),
                mae_config.norm_pix_loss(s) != 0,
                DType.ofCode(mae_config.dtype(s)),
                mae_config.layer_norm_eps(s));
    }

    void writeTo(MemorySegment s) {
        mae_config.img_size(s, imgSize);
        mae_config.patch_size(s, patchSize);
        mae_config.in_chans(s, inChans);
        mae_config.embed_dim(s, embedDim);
        mae_config.depth(s, depth);
        mae_config.num_heads(s, numHeads);
        mae_config.decoder_embed_dim(s, decoderEmbedDim);
        mae_config.decoder_depth(s, decoderDepth);
        mae_config.decoder_num_heads(s, decoderNumHeads);
        mae_config.mlp_ratio(s, mlpRatio);
        mae_config.norm_pix_loss(s, normPixLoss ? 1 : 0);
        mae_config.dtype(s, precision.code());
        mae_config.layer_norm_eps(s, layerNormEps);
    }

    /** The configuration as safetensors metadata, with the reference's argument names. */
    Map<String, String> toMetadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("img_size", Integer.toString(imgSize));
        m.put("patch_size", Integer.toString(patchSize));
        m.put("in_chans", Integer.toString(inChans));
        m.put("embed_dim", Integer.toString(embedDim));
        m.put("depth", Integer.toString(depth));
        m.put("num_heads", Integer.toString(numHeads));
        m.put("decoder_embed_dim", Integer.toString(decoderEmbedDim));
        m.put("decoder_depth", Integer.toString(decoderDepth));
        m.put("decoder_num_heads", Integer.toString(decoderNumHeads));
        m.put("mlp_ratio", Double.toString(mlpRatio));
        m.put("norm_pix_loss", Boolean.toString(normPixLoss));
        m.put("layer_norm_eps", Double.toString(layerNormEps));
        return m;
    }

    /** Reads {@link #toMetadata()}'s keys back; throws IllegalArgumentException naming a missing or bad key. */
    static MaeConfig fromMetadata(Map<String, String> m, DType precision) {
        return builder()
                .imgSize(intKey(m, "img_size"))
                .patchSize(intKey(m, "patch_size"))
                .inChans(intKey(m, "in_chans"))
                .embedDim(intKey(m, "embed_dim"))
                .depth(intKey(m, "depth"))
                .numHeads(intKey(m, "num_heads"))
                .decoderEmbedDim(intKey(m, "decoder_embed_dim"))
                .decoderDepth(intKey(m, "decoder_depth"))
                .decoderNumHeads(intKey(m, "decoder_num_heads"))
                .mlpRatio(doubleKey(m, "mlp_ratio"))
                .normPixLoss(Boolean.parseBoolean(key(m, "norm_pix_loss")))
                .precision(precision)
                .layerNormEps(m.containsKey("layer_norm_eps") ? doubleKey(m, "layer_norm_eps") : DEFAULT_LAYER_NORM_EPS)
                .build();
    }

    private static String key(Map<String, String> m, String k) {
        String v = m.get(k);
        if (v == null) throw new IllegalArgumentException("checkpoint metadata has no '" + k + "'; pass a MaeConfig");
        return v;
    }

    private static int intKey(Map<String, String> m, String k) {
        try {
            return Integer.parseInt(key(m, k));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("checkpoint metadata '" + k + "' is not an integer: " + m.get(k));
        }
    }

    private static double doubleKey(Map<String, String> m, String k) {
        try {
            return Double.parseDouble(key(m, k));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("checkpoint metadata '" + k + "' is not a number: " + m.get(k));
        }
    }

    /** Starts from the reference MaskedAutoencoderViT's defaults: 224 px RGB, patch 16, encoder 1024×24, decoder 512×8. */
    public static final class Builder {
        private int imgSize = 224, patchSize = 16, inChans = 3, embedDim = 1024, depth = 24, numHeads = 16;
        private int decoderEmbedDim = 512, decoderDepth = 8, decoderNumHeads = 16;
        private double mlpRatio = 4.0;
        private boolean normPixLoss = false;
        private DType precision = DType.F32;
        private double layerNormEps = DEFAULT_LAYER_NORM_EPS;

        private Builder() {}

        public Builder imgSize(int v) {
            imgSize = v;
            return this;
        }

        public Builder patchSize(int v) {
            patchSize = v;
            return this;
        }

        public Builder inChans(int v) {
            inChans = v;
            return this;
        }

        public Builder embedDim(int v) {
            embedDim = v;
            return this;
        }

        public Builder depth(int v) {
            depth = v;
            return this;
        }

        public Builder numHeads(int v) {
            numHeads = v;
            return this;
        }

        public Builder decoderEmbedDim(int v) {
            decoderEmbedDim = v;
            return this;
        }

        public Builder decoderDepth(int v) {
            decoderDepth = v;
            return this;
        }

        public Builder decoderNumHeads(int v) {
            decoderNumHeads = v;
            return this;
        }

        public Builder mlpRatio(double v) {
            mlpRatio = v;
            return this;
        }

        public Builder normPixLoss(boolean v) {
            normPixLoss = v;
            return this;
        }

        public Builder precision(DType v) {
            precision = v;
            return this;
        }

        public Builder layerNormEps(double v) {
            layerNormEps = v;
            return this;
        }

        /** Throws IllegalArgumentException naming the field when the values are inconsistent. */
        public MaeConfig build() {
            return new MaeConfig(
                    imgSize,
                    patchSize,
                    inChans,
                    embedDim,
                    depth,
                    numHeads,
                    decoderEmbedDim,
                    decoderDepth,
                    decoderNumHeads,
                    mlpRatio,
                    normPixLoss,
                    precision,
                    layerNormEps);
        }
    }
}
