package dev.mae4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Hugging Face's ViTMAEConfig (config.json) read into, and written from, a MaeConfig. */
final class HuggingFaceConfig {
    private static final ObjectMapper JSON = new ObjectMapper();

    private HuggingFaceConfig() {}

    /** config.json in the weights' directory (or the directory itself), or null when there is none. */
    static Path beside(Path weights) {
        return beside(weights, "config.json");
    }

    /** File {@code name} of a Hugging Face folder: in the weights' directory (or the directory itself), or null. */
    static Path beside(Path weights, String name) {
        Path dir =
                Files.isDirectory(weights) ? weights : weights.toAbsolutePath().getParent();
        Path f = dir == null ? null : dir.resolve(name);
        return f != null && Files.isRegularFile(f) ? f : null;
    }

    static MaeConfig read(Path configJson, DType precision) throws IOException {
        JsonNode c;
        try {
            c = JSON.readTree(configJson.toFile());
        } catch (IOException e) {
            throw new CheckpointException(configJson, "is not JSON: " + e.getMessage());
        }
        if (c == null || !c.isObject()) throw new CheckpointException(configJson, "is not a JSON object");
        String type = c.path("model_type").asText("vit_mae");
        if (!type.equals("vit_mae"))
            throw new CheckpointException(configJson, "model_type is " + type + ", not vit_mae");
        if (!c.path("hidden_act").asText("gelu").equals("gelu"))
            throw new CheckpointException(
                    configJson, "hidden_act " + c.path("hidden_act").asText() + " is not supported (gelu is)");
        if (!c.path("qkv_bias").asBoolean(true))
            throw new CheckpointException(configJson, "qkv_bias false is not supported");
        int hidden = num(c, "hidden_size", 768, configJson),
                decoderHidden = num(c, "decoder_hidden_size", 512, configJson);
        double mlp = (double) num(c, "intermediate_size", 3072, configJson) / hidden;
        double decoderMlp = (double) num(c, "decoder_intermediate_size", 2048, configJson) / decoderHidden;
        if (mlp != decoderMlp)
            throw new CheckpointException(
                    configJson,
                    "encoder and decoder MLP ratios differ (" + mlp + ", " + decoderMlp
                            + "); this library uses one mlp_ratio");
        try {
            return MaeConfig.builder()
                    .imgSize(num(c, "image_size", 224, configJson))
                    .patchSize(num(c, "patch_size", 16, configJson))
                    .inChans(num(c, "num_channels", 3, configJson))
                    .embedDim(hidden)
                    .depth(num(c, "num_hidden_layers", 12, configJson))
                    .numHeads(num(c, "num_attention_heads", 12, configJson))
                    .decoderEmbedDim(decoderHidden)
                    .decoderDepth(num(c, "decoder_num_hidden_layers", 8, configJson))
                    .decoderNumHeads(num(c, "decoder_num_attention_heads", 16, configJson))
                    .mlpRatio(mlp)
                    .normPixLoss(c.path("norm_pix_loss").asBoolean(false))
                    .layerNormEps(c.path("layer_norm_eps").asDouble(1e-12))
                    .precision(precision)
                    .build();
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(configJson, e.getMessage());
        }
    }

    private static int num(JsonNode c, String key, int fallback, Path file) throws CheckpointException {
        JsonNode v = c.get(key);
        if (v == null) return fallback;
        if (!v.canConvertToInt()) throw new CheckpointException(file, key + " is not an integer: " + v);
        return v.intValue();
    }

    static void write(Path configJson, MaeConfig m, double maskRatio) throws IOException {
        ObjectNode c = JSON.createObjectNode();
        c.putArray("architectures").add("ViTMAEForPreTraining");
        c.put("model_type", "vit_mae");
        c.put("hidden_size", m.embedDim());
        c.put("num_hidden_layers", m.depth());
        c.put("num_attention_heads", m.numHeads());
        c.put("intermediate_size", (int) (m.embedDim() * m.mlpRatio()));
        c.put("hidden_act", "gelu");
        c.put("hidden_dropout_prob", 0.0);
        c.put("attention_probs_dropout_prob", 0.0);
        c.put("initializer_range", 0.02);
        c.put("layer_norm_eps", m.layerNormEps());
        c.put("image_size", m.imgSize());
        c.put("patch_size", m.patchSize());
        c.put("num_channels", m.inChans());
        c.put("qkv_bias", true);
        c.put("decoder_num_attention_heads", m.decoderNumHeads());
        c.put("decoder_hidden_size", m.decoderEmbedDim());
        c.put("decoder_num_hidden_layers", m.decoderDepth());
        c.put("decoder_intermediate_size", (int) (m.decoderEmbedDim() * m.mlpRatio()));
        c.put("mask_ratio", maskRatio);
        c.put("norm_pix_loss", m.normPixLoss());
        byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(c);
        dev.mae4j.io.AtomicFile.write(configJson, out -> out.write(java.nio.ByteBuffer.wrap(bytes)));
    }
}
