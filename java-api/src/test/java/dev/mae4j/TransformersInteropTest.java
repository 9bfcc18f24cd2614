package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mae4j.io.SafeTensors;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real transformers library (the project venv's, transformers 5.x on PyTorch 2.13; src/test/python/
 * transformers_interop.py) on both sides: folders it saves load here and give its loss, logits, mask and
 * last_hidden_state on the same noise, and the folders mae4j writes load with from_pretrained and AutoModel without
 * missing or unexpected keys and give the same outputs. Without the venv's transformers the tests fail, naming what
 * is missing ({@code -Dmae.allowSkips=true} reports them as skipped instead).
 */
@Tag("python")
class TransformersInteropTest {
    private static final double TOL = 2e-5;
    /** The transformers these tests check against: scripts/setup.sh pins it (MAE_TEST_REQUIREMENTS). */
    static final String TRANSFORMERS_VERSION = "5.18.0";

    private static Path python;

    @BeforeAll
    static void findPython() throws Exception {
        python = Venv.python("transformers, safetensors");
    }

    /** Runs the script in {@code mode}; asserts the transformers it ran against is the pinned one, and says which. */
    private static void script(String mode, Path dir) throws Exception {
        String out = Venv.script(python, "transformers_interop.py", mode, dir.toString());
        String versions = out.lines()
                .filter(l -> l.startsWith("{") && l.contains("\"transformers\""))
                .reduce((a, b) -> b)
                .orElseThrow(() -> new AssertionError("transformers_interop.py printed no versions:\n" + out));
        String ran = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(versions)
                .get("transformers")
                .asText();
        System.out.println("TransformersInteropTest (" + mode + "): transformers " + ran);
        assertEquals(TRANSFORMERS_VERSION, ran, "the transformers the interop test ran against");
    }

    private static double[] read(Path file, String name) throws IOException {
        try (SafeTensors st = SafeTensors.open(file)) {
            SafeTensors.Entry e = st.entries().get(name);
            assertEquals("F32", e.dtype(), name);
            float[] f = e.data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) d[i] = f[i];
            return d;
        }
    }

    private static Tensor tensor(Path file, String name, long... shape) throws IOException {
        double[] v = read(file, name);
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return Tensor.fromFloats(f, shape);
    }

    @Test
    void foldersTransformersSavesLoadAndGiveItsOutputs(@TempDir Path dir) throws Exception {
        script("write", dir);
        Path expected = dir.resolve("expected.safetensors");
        try (Model m = Model.load(dir.resolve("pretraining"), Device.cpu());
                Tensor pixels = tensor(expected, "pixel_values", 2, 3, 32, 32);
                Tensor noise = tensor(expected, "noise", 2, 16);
                Masker masker = Masker.fromNoise(noise, 0.6);
                ForwardResult r = m.forward(pixels, masker)) {
            assertEquals(1e-5, m.config().layerNormEps(), 0.0, "layer_norm_eps from config.json");
            // transformers_interop.py's PROCESSOR, from preprocessor_config.json
            assertEquals(
                    Preprocessing.of(new float[] {0.25f, 0.5f, 0.75f}, new float[] {0.125f, 0.25f, 0.5f}),
                    m.preprocessing());
            assertTrue(m.preprocessing().recorded());
            assertTrue(m.config().normPixLoss(), "norm_pix_loss from config.json");
            assertEquals(read(expected, "loss")[0], r.loss(), TOL, "loss");
            TestData.assertClose(read(expected, "logits"), r.pred().toDoubleArray(), TOL, "logits");
            assertArrayEquals(read(expected, "mask"), r.mask().toDoubleArray(), 0.0, "mask");
            // interpolate_pos_encoding=True at 48 × 48 is PositionTables.resize of the stored table to a 6 × 6 grid
            try (Tensor table = m.parameter("pos_embed");
                    Tensor resized = PositionTables.resize(table, 6)) {
                TestData.assertClose(read(expected, "pos_48"), resized.toDoubleArray(), 1e-6, "pos_embed at 48 × 48");
            }
        }
        // ViTMAEModel (encoder only) at mask ratio 0 with sorted noise: every patch, in order
        try (Encoder e = Encoder.load(dir.resolve("model"), Device.cpu());
                Tensor pixels = tensor(expected, "pixel_values", 2, 3, 32, 32);
                Tensor tokens = e.embed(pixels, Encoder.Output.TOKENS)) {
            TestData.assertClose(read(expected, "last_hidden_state"), tokens.toDoubleArray(), TOL, "last_hidden_state");
            // no preprocessor_config.json there: ImageNet's statistics, flagged as a default
            assertEquals(
                    Preprocessing.of(new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f}),
                    e.preprocessing());
            assertFalse(e.preprocessing().recorded());
        }
    }

    @Test
    void foldersMae4jWritesLoadInTransformersWithoutMissingKeys(@TempDir Path dir) throws Exception {
        MaeConfig c = MaeConfig.builder()
                .imgSize(32)
                .patchSize(8)
                .inChans(3)
                .embedDim(48)
                .depth(2)
                .numHeads(3)
                .decoderEmbedDim(32)
                .decoderDepth(2)
                .decoderNumHeads(4)
                .mlpRatio(4.0)
                .normPixLoss(true)
                .layerNormEps(1e-5)
                .build();
        double[] px = TestData.gaussian(2 * 3 * 32 * 32, 61), nz = TestData.uniform(2 * 16, 62);
        float[] pf = new float[px.length], nf = new float[nz.length];
        for (int i = 0; i < px.length; i++) pf[i] = (float) px[i];
        for (int i = 0; i < nz.length; i++) nf[i] = (float) nz[i];
        // an image's 8-bit pixels after mae4j's evaluation resize and crop, which transformers then normalises from
        // mae4j's preprocessor_config.json
        java.awt.image.BufferedImage img =
                new java.awt.image.BufferedImage(40, 32, java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 40; x++)
                img.setRGB(x, y, ((x * 6) & 255) << 16 | ((y * 8) & 255) << 8 | ((x * y) & 255));
        Path png = dir.resolve("image.png");
        javax.imageio.ImageIO.write(img, "png", png.toFile());
        byte[] planes = dev.mae4j.data.ImageFolder.decodePixels(png, 32, 3); // [C, H, W]
        float[] u8 = new float[32 * 32 * 3]; // [H, W, C], as images reach transformers' processors
        for (int ch = 0; ch < 3; ch++)
            for (int i = 0; i < 32 * 32; i++) u8[i * 3 + ch] = planes[ch * 32 * 32 + i] & 0xff;
        try (Model m = Model.create(c, Device.cpu(), 3);
                Tensor image = Tensor.fromFloats(u8, 32, 32, 3);
                Tensor pixels = Tensor.fromFloats(pf, 2, 3, 32, 32);
                Tensor noise = Tensor.fromFloats(nf, 2, 16);
                Masker masker = Masker.fromNoise(noise, 0.6);
                ForwardResult r = m.forward(pixels, masker)) {
            m.setPreprocessing(Preprocessing.of(new float[] {0.3f, 0.4f, 0.5f}, new float[] {0.2f, 0.25f, 0.3f}));
            m.saveHuggingFace(dir.resolve("ours"), 0.6);
            SafeTensors.write(
                    dir.resolve("ours-inputs.safetensors"),
                    Map.of(),
                    List.of(
                            new SafeTensors.Source("image_u8", "F32", new long[] {32, 32, 3}, image.segment()),
                            new SafeTensors.Source("pixel_values", "F32", new long[] {2, 3, 32, 32}, pixels.segment()),
                            new SafeTensors.Source("noise", "F32", new long[] {2, 16}, noise.segment())));
            script("read", dir);
            Path out = dir.resolve("ours-outputs.safetensors");
            assertEquals(r.loss(), read(out, "loss")[0], TOL, "loss");
            TestData.assertClose(r.pred().toDoubleArray(), read(out, "logits"), TOL, "logits");
            assertArrayEquals(r.mask().toDoubleArray(), read(out, "mask"), 0.0, "mask");
            // what mae4j's consumers feed the encoder is what transformers' processor makes of the same file
            float[] ours = new float[3 * 32 * 32];
            dev.mae4j.data.ImageFolder.decode(
                    png, 32, 3, m.preprocessing().mean(), m.preprocessing().std(), ours, 0);
            double[] ourD = new double[ours.length];
            for (int i = 0; i < ours.length; i++) ourD[i] = ours[i];
            TestData.assertClose(read(out, "processed"), ourD, 1e-5, "normalised pixels");
            try (Model back = Model.load(dir.resolve("ours"), Device.cpu())) {
                assertEquals(m.preprocessing(), back.preprocessing(), "preprocessor_config.json read back");
            }
        }
    }
}
