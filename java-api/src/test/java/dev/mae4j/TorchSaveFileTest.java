package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mae4j.io.SafeTensors;
import dev.mae4j.io.TorchSaveFile;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files written by real PyTorch (src/test/python/make_torch_fixtures.py; written by Debian's torch 1.13, as old checkpoints are) read back:
 * training checkpoints, encoder-only and Hugging Face folders, storage layouts, and a hostile pickle.
 */
class TorchSaveFileTest {
    private static Path extracted;

    /** A fixture file (or the hf_tiny folder); copied out first when the tests run from a jar (the GPU bundle). */
    private static Path fixture(String name) throws URISyntaxException, IOException {
        java.net.URL url = TorchSaveFileTest.class.getResource("/torch/" + name);
        if (url.getProtocol().equals("file")) return Path.of(url.toURI());
        if (extracted == null) {
            extracted = Files.createTempDirectory("mae4j-torch-fixtures");
            for (String f : new String[] {
                "mae_tiny_checkpoint.pth",
                "mae_tiny_encoder.pth",
                "layouts.pth",
                "pos_resize.pth",
                "hostile.pth",
                "hf_tiny/config.json",
                "hf_tiny/pytorch_model.bin"
            }) {
                Path to = extracted.resolve(f);
                Files.createDirectories(to.getParent());
                try (var in = TorchSaveFileTest.class.getResourceAsStream("/torch/" + f)) {
                    Files.copy(in, to);
                }
            }
        }
        return extracted.resolve(name);
    }

    /** The fixtures' formula: parameter k, element i = ((7 i + 13 k) mod 17 − 8) / 16. */
    private static double[] expected(int k, long n) {
        double[] v = new double[(int) n];
        for (int i = 0; i < n; i++) v[i] = (Math.floorMod(7L * i + 13L * k, 17) - 8) / 16.0;
        return v;
    }

    private static void assertFormulaValues(Model m) {
        int k = 0;
        for (ParameterInfo p : m.parameters()) {
            try (Tensor t = m.parameter(p.name())) {
                if (p.trainable() || p.name().contains("pos_embed"))
                    assertArrayEquals(expected(k, p.elementCount()), t.toDoubleArray(), p.name());
            }
            k++;
        }
    }

    @Test
    void aTrainingCheckpointLoadsIntoTheModel() throws Exception {
        try (Model m = Model.load(fixture("mae_tiny_checkpoint.pth"), MaeConfig.tiny(), TestData.device())) {
            assertFormulaValues(m);
        }
    }

    @Test
    void huggingFaceNamesGiveTheSameModelAndOutputs() throws Exception {
        double[] pixels = TestData.gaussian(2 * 128, 51);
        double[] noise = TestData.uniform(2 * 16, 52);
        try (Model ref = Model.load(fixture("mae_tiny_checkpoint.pth"), MaeConfig.tiny(), TestData.device());
                Model hf = Model.load(fixture("hf_tiny"), TestData.device()); // config.json in the folder
                Tensor images = TestData.images(pixels, DType.F32, MaeConfig.tiny(), 2);
                Tensor noiseT = Tensor.fromDoubles(noise, 2, 16);
                Masker masker = Masker.fromNoise(noiseT, 0.75);
                ForwardResult a = ref.forward(images, masker);
                ForwardResult b = hf.forward(images, masker)) {
            assertEquals(MaeConfig.tiny(), hf.config(), "config.json read into the same architecture");
            assertFormulaValues(hf);
            assertEquals(a.loss(), b.loss());
            assertArrayEquals(a.pred().toFloatArray(), b.pred().toFloatArray());
        }
    }

    @Test
    void ourHuggingFaceExportRoundTripsBitExactly(@TempDir Path dir) throws Exception {
        MaeConfig c = MaeConfig.tiny().toBuilder().layerNormEps(1e-12).build();
        double[] pixels = TestData.gaussian(2 * 128, 53);
        try (Model m = Model.create(c, TestData.device(), 4);
                Tensor images = TestData.images(pixels, DType.F32, c, 2);
                Masker masker = Masker.random(0.75, 9)) {
            m.saveHuggingFace(dir, 0.75);
            assertTrue(Files.readString(dir.resolve("config.json")).contains("\"layer_norm_eps\" : 1.0E-12"));
            try (Model back = Model.load(dir, TestData.device());
                    Masker again = Masker.random(0.75, 9);
                    ForwardResult a = m.forward(images, masker);
                    ForwardResult b = back.forward(images, again)) {
                assertEquals(c, back.config());
                assertEquals(a.loss(), b.loss());
                assertArrayEquals(a.pred().toFloatArray(), b.pred().toFloatArray());
            }
        }
    }

    @Test
    void storageLayoutsAreReadAsPyTorchHoldsThem() throws Exception {
        Map<String, Tensor> t = TorchSaveFile.read(fixture("layouts.pth"), WeightsReader.TENSORS);
        try {
            double[] base = expected(0, 12);
            assertArrayEquals(base, t.get("whole").toDoubleArray());
            double[] transposed = new double[12];
            for (int r = 0; r < 4; r++) for (int c = 0; c < 3; c++) transposed[r * 3 + c] = base[c * 4 + r];
            assertArrayEquals(new long[] {4, 3}, t.get("transposed").shape());
            assertArrayEquals(transposed, t.get("transposed").toDoubleArray(), "a strided view is materialised");
            assertArrayEquals(
                    java.util.Arrays.copyOfRange(base, 4, 8), t.get("row1").toDoubleArray(), "a view at an offset");
            assertArrayEquals(expected(1, 6), t.get("half").toDoubleArray(), "float16 widened to F32");
            assertEquals(DType.F32, t.get("half").dtype());
            assertArrayEquals(expected(2, 5), t.get("bf16").toDoubleArray(), "bfloat16 widened to F32");
            assertEquals(DType.F64, t.get("double").dtype());
            assertArrayEquals(expected(3, 4), t.get("double").toDoubleArray());
            assertArrayEquals(new long[] {7}, t.get("step").toLongArray());
            assertArrayEquals(new long[] {0, 1, 2, 3}, t.get("ints").toLongArray());
        } finally {
            t.values().forEach(Tensor::close);
        }
    }

    @Test
    void aHostilePickleIsRefusedNotRun() {
        IOException e = assertThrows(
                IOException.class, () -> Model.load(fixture("hostile.pth"), MaeConfig.tiny(), TestData.device()));
        assertTrue(e.getMessage().contains("os.system") && e.getMessage().contains("never executed"), e.getMessage());
    }

    @Test
    void learnedPositionTablesResizeAsTheReference() throws Exception {
        Map<String, Tensor> t = TorchSaveFile.read(fixture("pos_resize.pth"), WeightsReader.TENSORS);
        try (Tensor resized = PositionTables.resize(t.get("pos"), 6)) {
            assertArrayEquals(new long[] {1, 37, 4}, resized.shape());
            TestData.assertClose(
                    t.get("resized").toDoubleArray(), resized.toDoubleArray(), 1e-6, "bicubic resize vs torch");
        } finally {
            t.values().forEach(Tensor::close);
        }
    }

    @Test
    void fixedTablesAreRegeneratedForANewImageSize() throws Exception {
        MaeConfig bigger = MaeConfig.tiny().toBuilder().imgSize(12).build(); // grid 4 -> 6
        try (Encoder e = Encoder.load(fixture("mae_tiny_encoder.pth"), bigger, TestData.device());
                Tensor images = TestData.images(TestData.gaussian(144 * 2, 54), DType.F32, bigger, 1);
                Tensor tokens = e.embed(images, Encoder.Output.TOKENS);
                Model probe = Model.load(fixture("mae_tiny_checkpoint.pth"), bigger, TestData.device());
                Tensor pos = probe.parameter("pos_embed")) {
            assertArrayEquals(new long[] {1, 37, 8}, tokens.shape());
            TestData.assertClose(
                    ReferenceMae.sincosTable(8, 6), pos.toDoubleArray(), 1e-7, "regenerated sine-cosine table");
        }
    }

    @Test
    void viTMAEModelNamesWithoutTheVitPrefixLoadAsAnEncoder(@TempDir Path dir) throws Exception {
        // ViTMAEModel (no decoder, no "vit." prefix): rename our Hugging Face export's encoder keys.
        try (Model m = Model.create(MaeConfig.tiny(), TestData.device(), 8)) {
            m.saveHuggingFace(dir.resolve("hf"), 0.75);
            Map<String, Tensor> tensors = new java.util.LinkedHashMap<>();
            try (SafeTensors st = SafeTensors.open(dir.resolve("hf/model.safetensors"))) {
                for (SafeTensors.Entry e : st.entries().values())
                    if (e.name().startsWith("vit."))
                        tensors.put(
                                e.name().substring(4),
                                Tensor.fromFloats(
                                        e.data().toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT), e.shape()));
            }
            Path encoderOnly = dir.resolve("vitmae-model.safetensors");
            Weights.write(encoderOnly, tensors, Map.of("format", "pt"));
            tensors.values().forEach(Tensor::close);
            try (Encoder e = Encoder.load(encoderOnly, MaeConfig.tiny(), TestData.device());
                    Tensor x = TestData.images(TestData.gaussian(128, 55), DType.F32, MaeConfig.tiny(), 1);
                    Tensor a = e.embed(x, Encoder.Output.TOKENS);
                    Tensor b = m.encode(x)) {
                // the encoder's products read its weights reordered for oneDNN: equal to float32 rounding
                TestData.assertClose(b.toDoubleArray(), a.toDoubleArray(), 1e-6, "tokens");
            }
        }
    }
}
