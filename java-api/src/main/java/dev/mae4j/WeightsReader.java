package dev.mae4j;

import dev.mae4j.io.FormatException;
import dev.mae4j.io.SafeTensors;
import dev.mae4j.io.TorchSaveFile;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads weights in every format and naming users arrive with, as tensors under the reference's names:
 * safetensors or torch.save files (a bare state dict or one under 'model'), named as models_mae / models_vit
 * (optionally with DDP's "module." prefix) or as Hugging Face's ViTMAEForPreTraining / ViTMAEModel, whose
 * separate query, key and value projections are fused into qkv.
 */
final class WeightsReader {
    private WeightsReader() {}

    /** Tensors under reference names plus the file's metadata; closing frees what reading allocated. */
    static final class Loaded implements AutoCloseable {
        final Map<String, Tensor> tensors;
        final Map<String, String> metadata;
        private final List<AutoCloseable> owned;

        private Loaded(Map<String, Tensor> tensors, Map<String, String> metadata, List<AutoCloseable> owned) {
            this.tensors = tensors;
            this.metadata = metadata;
            this.owned = owned;
        }

        /** F64 when any tensor is, else F32. */
        DType precision() {
            return tensors.values().stream().anyMatch(t -> t.dtype() == DType.F64) ? DType.F64 : DType.F32;
        }

        @Override
        public void close() {
            for (AutoCloseable c : owned) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // tensors and mappings close without checked failures
                }
            }
        }
    }

    /**
     * A weights file, or a directory holding model.safetensors or pytorch_model.bin (a Hugging Face model
     * folder), read and renamed to reference names.
     */
    static Loaded read(Path path) throws IOException {
        Path file = weightsFile(path);
        List<AutoCloseable> owned = new ArrayList<>();
        try {
            Map<String, Tensor> raw = new LinkedHashMap<>();
            Map<String, String> metadata = Map.of();
            if (TorchSaveFile.isZip(head(file))) {
                raw.putAll(TorchSaveFile.read(file, TENSORS));
                owned.addAll(raw.values());
            } else {
                SafeTensors st = open(file);
                owned.add(st);
                metadata = st.metadata();
                for (SafeTensors.Entry e : st.entries().values()) {
                    Tensor t = asTensor(file, e);
                    owned.add(t);
                    raw.put(e.name(), t);
                }
            }
            boolean hf = raw.keySet().stream()
                    .anyMatch(k -> k.startsWith("vit.")
                            || k.startsWith("embeddings.")
                            || k.startsWith("module.vit.")
                            || k.startsWith("module.embeddings."));
            Map<String, Tensor> named = hf ? fromHuggingFace(file, raw, owned) : stripModulePrefix(raw);
            return new Loaded(named, metadata, owned);
        } catch (IOException | RuntimeException e) {
            new Loaded(Map.of(), Map.of(), owned).close();
            throw e;
        }
    }

    /** The weights file of {@code path}: itself, or model.safetensors / pytorch_model.bin inside a directory. */
    static Path weightsFile(Path path) throws IOException {
        if (!Files.isDirectory(path)) {
            if (!Files.isRegularFile(path)) throw new java.nio.file.NoSuchFileException(path.toString());
            return path;
        }
        for (String name : List.of("model.safetensors", "pytorch_model.bin")) {
            Path f = path.resolve(name);
            if (Files.isRegularFile(f)) return f;
        }
        throw new IOException(path + " is a directory without model.safetensors or pytorch_model.bin");
    }

    private static byte[] head(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(4);
        }
    }

    private static final ValueLayout.OfShort SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    // F32, F64 and I64 are used in place; F16 and BF16 (common for Hugging Face weights) become F32 copies.
    private static Tensor asTensor(Path file, SafeTensors.Entry e) throws CheckpointException {
        long[] shape = e.shape().length == 0 ? new long[] {1} : e.shape();
        switch (e.dtype()) {
            case "F32", "F64", "I64": {
                return inPlaceOrCopied(e.data(), DType.ofSafetensorsName(e.dtype()), shape);
            }
            case "F16", "BF16": {
                Tensor t = Tensor.zeros(DType.F32, shape);
                long n = t.elementCount();
                MemorySegment src = e.data(), dst = t.segment();
                boolean half = e.dtype().equals("F16");
                for (long i = 0; i < n; i++) {
                    short bits = src.get(SHORT, 2 * i);
                    dst.setAtIndex(
                            ValueLayout.JAVA_FLOAT,
                            i,
                            half ? Float.float16ToFloat(bits) : Float.intBitsToFloat((bits & 0xffff) << 16));
                }
                return t;
            }
            default:
                throw new CheckpointException(
                        file, "tensor '" + e.name() + "' is " + e.dtype() + "; F32, F64, F16, BF16 or I64 is needed");
        }
    }

    /** Maps and checks a safetensors file; its format errors are the API's CheckpointException. */
    static SafeTensors open(Path file) throws IOException {
        try {
            return SafeTensors.open(file);
        } catch (FormatException e) {
            throw new CheckpointException(e.file(), e.problem());
        }
    }

    /** A tensor as io's writer takes it: its bytes, in place. */
    static SafeTensors.Source source(String name, Tensor t) {
        return new SafeTensors.Source(name, t.dtype().safetensorsName(), t.shape(), t.segment());
    }

    /**
     * A tensor's bytes as a tensor: used in place when aligned to the element type, else copied (empty tensors; files
     * whose writer did not order tensors widest first: the format does not promise alignment).
     */
    static Tensor inPlaceOrCopied(MemorySegment data, DType dtype, long[] shape) {
        if (data.byteSize() > 0 && data.address() % dtype.byteSize() == 0) return Tensor.wrap(data, dtype, shape);
        Tensor t = Tensor.zeros(dtype, shape);
        MemorySegment.copy(data, 0, t.segment(), 0, data.byteSize());
        return t;
    }

    /** mae4j's tensors for io's readers, which know none of their own. */
    static final TorchSaveFile.Tensors<Tensor> TENSORS = new TorchSaveFile.Tensors<>() {
        @Override
        public Tensor zeros(String dtype, long[] shape) {
            return Tensor.zeros(DType.valueOf(dtype), shape);
        }

        @Override
        public MemorySegment data(Tensor tensor) {
            return tensor.segment();
        }

        @Override
        public void close(Tensor tensor) {
            tensor.close();
        }
    };

    private static Map<String, Tensor> stripModulePrefix(Map<String, Tensor> raw) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        raw.forEach((k, v) -> out.put(k.startsWith("module.") ? k.substring("module.".length()) : k, v));
        return out;
    }

    // Hugging Face block names -> timm block names (shared by encoder layers and decoder layers).
    private static final Map<String, String> HF_BLOCK = Map.of(
            "attention.output.dense.", "attn.proj.",
            "intermediate.dense.", "mlp.fc1.",
            "output.dense.", "mlp.fc2.",
            "layernorm_before.", "norm1.",
            "layernorm_after.", "norm2.");

    private static final Map<String, String> HF_TOP = Map.ofEntries(
            Map.entry("embeddings.cls_token", "cls_token"),
            Map.entry("embeddings.position_embeddings", "pos_embed"),
            Map.entry("embeddings.patch_embeddings.projection.weight", "patch_embed.proj.weight"),
            Map.entry("embeddings.patch_embeddings.projection.bias", "patch_embed.proj.bias"),
            Map.entry("layernorm.weight", "norm.weight"),
            Map.entry("layernorm.bias", "norm.bias"),
            Map.entry("decoder.mask_token", "mask_token"),
            Map.entry("decoder.decoder_pos_embed", "decoder_pos_embed"),
            Map.entry("decoder.decoder_embed.weight", "decoder_embed.weight"),
            Map.entry("decoder.decoder_embed.bias", "decoder_embed.bias"),
            Map.entry("decoder.decoder_norm.weight", "decoder_norm.weight"),
            Map.entry("decoder.decoder_norm.bias", "decoder_norm.bias"),
            Map.entry("decoder.decoder_pred.weight", "decoder_pred.weight"),
            Map.entry("decoder.decoder_pred.bias", "decoder_pred.bias"));

    private static Map<String, Tensor> fromHuggingFace(Path file, Map<String, Tensor> raw, List<AutoCloseable> owned)
            throws CheckpointException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Map<String, Tensor[]> qkv = new LinkedHashMap<>(); // "blocks.3.attn.qkv.weight" -> {q, k, v}
        for (var e : raw.entrySet()) {
            String k = e.getKey();
            if (k.startsWith("module.")) k = k.substring("module.".length());
            if (k.startsWith("vit.")) k = k.substring("vit.".length());
            String name = HF_TOP.get(k);
            if (name == null) name = blockName(k, "encoder.layer.", "blocks.", qkv, e.getValue());
            if (name == null) name = blockName(k, "decoder.decoder_layers.", "decoder_blocks.", qkv, e.getValue());
            // transformers 5.x names the decoder's blocks as its encoder's: decoder.decoder_encoder.layer.N
            if (name == null)
                name = blockName(k, "decoder.decoder_encoder.layer.", "decoder_blocks.", qkv, e.getValue());
            if (name == null)
                throw new CheckpointException(file, "'" + e.getKey() + "' is not a ViTMAE weight this library knows");
            if (!name.equals(QKV_PART)) out.put(name, e.getValue());
        }
        for (var e : qkv.entrySet()) {
            Tensor[] parts = e.getValue();
            for (int i = 0; i < 3; i++)
                if (parts[i] == null)
                    throw new CheckpointException(
                            file,
                            "the " + List.of("query", "key", "value").get(i) + " part of " + e.getKey()
                                    + " is missing");
            Tensor fused = concatRows(parts);
            owned.add(fused);
            out.put(e.getKey(), fused);
        }
        return out;
    }

    private static final String QKV_PART = "";

    // "encoder.layer.3.attention.attention.query.weight" -> records the part, returns QKV_PART; other block
    // names map to reference names; unknown ones give null.
    private static String blockName(String k, String hfPrefix, String prefix, Map<String, Tensor[]> qkv, Tensor value) {
        if (!k.startsWith(hfPrefix)) return null;
        String rest = k.substring(hfPrefix.length());
        int dot = rest.indexOf('.');
        if (dot < 0) return null;
        String index = rest.substring(0, dot), tail = rest.substring(dot + 1);
        for (int i = 0; i < 3; i++) {
            String part =
                    "attention.attention." + List.of("query", "key", "value").get(i) + ".";
            if (tail.startsWith(part)) {
                qkv.computeIfAbsent(prefix + index + ".attn.qkv." + tail.substring(part.length()), x -> new Tensor[3])[
                        i] = value;
                return QKV_PART;
            }
        }
        for (var m : HF_BLOCK.entrySet())
            if (tail.startsWith(m.getKey()))
                return prefix + index + "." + m.getValue()
                        + tail.substring(m.getKey().length());
        return null;
    }

    /** Reference name -> Hugging Face ViTMAEForPreTraining name; qkv entries expand to three names. */
    static Map<String, List<String>> huggingFaceNames(List<ParameterInfo> parameters) {
        Map<String, String> top = new LinkedHashMap<>();
        HF_TOP.forEach((hf, ref) -> top.put(ref, hf));
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (ParameterInfo p : parameters) {
            String n = p.name(), hf = top.get(n);
            if (hf != null) {
                out.put(n, List.of(hf.startsWith("decoder.") ? hf : "vit." + hf));
                continue;
            }
            boolean decoder = n.startsWith("decoder_blocks.");
            String rest = n.substring(decoder ? "decoder_blocks.".length() : "blocks.".length());
            String index = rest.substring(0, rest.indexOf('.')), tail = rest.substring(rest.indexOf('.') + 1);
            String prefix = decoder ? "decoder.decoder_layers." + index + "." : "vit.encoder.layer." + index + ".";
            if (tail.startsWith("attn.qkv.")) {
                String kind = tail.substring("attn.qkv.".length());
                out.put(
                        n,
                        List.of(
                                prefix + "attention.attention.query." + kind,
                                prefix + "attention.attention.key." + kind,
                                prefix + "attention.attention.value." + kind));
                continue;
            }
            for (var m : HF_BLOCK.entrySet())
                if (tail.startsWith(m.getValue()))
                    out.put(
                            n,
                            List.of(prefix
                                    + m.getKey()
                                    + tail.substring(m.getValue().length())));
        }
        return out;
    }

    /** [a; b; c] along the first dimension (same dtype and trailing shape). */
    static Tensor concatRows(Tensor[] parts) {
        long rows = 0;
        for (Tensor p : parts) rows += p.shape()[0];
        long[] shape = parts[0].shape();
        shape[0] = rows;
        Tensor out = Tensor.zeros(parts[0].dtype(), shape);
        long at = 0;
        for (Tensor p : parts) {
            if (p.dtype() != parts[0].dtype())
                throw new IllegalArgumentException("query, key and value differ in dtype");
            MemorySegment.copy(p.segment(), 0, out.segment(), at, p.segment().byteSize());
            at += p.segment().byteSize();
        }
        return out;
    }
}
