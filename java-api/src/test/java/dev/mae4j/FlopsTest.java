package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Flops against PyTorch's FlopCounterMode on a plain-PyTorch MAE (src/test/python/flop_count.py), exactly. */
@Tag("python")
class FlopsTest {
    private static Path python;

    @BeforeAll
    static void findPython() throws Exception {
        python = Venv.python("torch");
    }

    @ParameterizedTest(name = "{0} px, patch {1}, {2} ch, {3}x{4}, decoder {5}x{6}, mlp {7}, mask {8}")
    @CsvSource({
        "32, 4, 3, 64, 2, 32, 1, 4.0, 0.75",
        "28, 4, 1, 128, 4, 64, 2, 4.0, 0.75",
        "24, 8, 3, 48, 1, 32, 2, 2.5, 0.6",
        "224, 16, 3, 768, 12, 512, 8, 4.0, 0.75"
    })
    void matchPyTorchsFlopCounter(
            int img, int patch, int chans, int dim, int depth, int ddim, int ddepth, double mlp, double ratio)
            throws Exception {
        MaeConfig c = MaeConfig.builder()
                .imgSize(img)
                .patchSize(patch)
                .inChans(chans)
                .embedDim(dim)
                .depth(depth)
                .numHeads(4)
                .decoderEmbedDim(ddim)
                .decoderDepth(ddepth)
                .decoderNumHeads(4)
                .mlpRatio(mlp)
                .build();
        String config = String.format(
                java.util.Locale.ROOT,
                "{\"img_size\": %d, \"patch_size\": %d, \"in_chans\": %d, "
                        + "\"embed_dim\": %d, \"depth\": %d, \"num_heads\": 4, \"decoder_embed_dim\": %d, \"decoder_depth\": %d, "
                        + "\"decoder_num_heads\": 4, \"mlp_ratio\": %s}",
                img,
                patch,
                chans,
                dim,
                depth,
                ddim,
                ddepth,
                mlp);
        String out = Venv.script(python, "flop_count.py", config, Double.toString(ratio))
                .strip();
        JsonNode counted = new ObjectMapper().readTree(out.substring(out.lastIndexOf('{')));
        assertEquals(counted.get("forward").asDouble(), Flops.forwardPerImage(c, ratio), 0.0, "forward");
        assertEquals(counted.get("training").asDouble(), Flops.trainingStepPerImage(c, ratio), 0.0, "training step");
    }
}
