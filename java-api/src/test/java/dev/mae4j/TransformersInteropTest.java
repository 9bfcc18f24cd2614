package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real transformers library (the project venv's, transformers 5.x on PyTorch 2.13; src/test/python/
 * transformers_interop.py) on both sides: folders it saves load here and give its loss, logits, mask and
 * last_hidden_state on the same noise, and the folders mae4j writes load with from_pretrained and AutoModel without
 * missing or unexpected keys and give the same outputs. Without the venv the tests are skipped with the reason.
 */
class TransformersInteropTest {
    private static final Path SCRIPT = Path.of("src/test/python/transformers_interop.py");
    private static final double TOL = 2e-5;
    private static Path python;

    @BeforeAll
    static void findPython() throws Exception {
        Path venv = Path.of("..", ".venv", "bin", "python").toAbsolutePath().normalize();
        String reason = null;
        if (!Files.isExecutable(venv)) reason = venv + " is missing (./run-tests makes it)";
        else if (run(List.of(venv.toString(), "-c", "import transformers, safetensors")).exit != 0)
            reason = "the venv lacks transformers or safetensors (./run-tests installs them)";
        if (reason != null) System.out.println("TransformersInteropTest skipped: " + reason);
        Assumptions.assumeTrue(reason == null, reason);
        python = venv;
    }

    private record Result(int exit, String output) {}

    // Output to a file, so that a hung interpreter is stopped by the time limit instead of blocking a read.
    private static Result run(List<String> command) throws IOException, InterruptedException {
        Path log = Files.createTempFile("mae4j-transformers", ".log");
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly().waitFor();
                return new Result(-1, "timed out after 5 minutes:\n" + Files.readString(log));
            }
            return new Result(p.exitValue(), Files.readString(log));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static void script(String mode, Path dir) throws Exception {
        Result r = run(List.of(python.toString(), SCRIPT.toAbsolutePath().toString(), mode, dir.toString()));
        assertEquals(0, r.exit, "transformers_interop.py " + mode + ":\n" + r.output);
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
            assertTrue(m.config().normPixLoss(), "norm_pix_loss from config.json");
            assertEquals(read(expected, "loss")[0], r.loss(), TOL, "loss");
            TestData.assertClose(read(expected, "logits"), r.pred().toDoubleArray(), TOL, "logits");
            assertArrayEquals(read(expected, "mask"), r.mask().toDoubleArray(), 0.0, "mask");
            // interpolate_pos_encoding=True at 48 × 48 is PositionTables.resize of the stored table to a 6 × 6 grid
            try (Tensor table = m.parameter("pos_embed"); Tensor resized = PositionTables.resize(table, 6)) {
                TestData.assertClose(read(expected, "pos_48"), resized.toDoubleArray(), 1e-6, "pos_embed at 48 × 48");
            }
        }
        // ViTMAEModel (encoder only) at mask ratio 0 with sorted noise: every patch, in order
        try (Encoder e = Encoder.load(dir.resolve("model"), Device.cpu());
             Tensor pixels = tensor(expected, "pixel_values", 2, 3, 32, 32);
             Tensor tokens = e.embed(pixels, Encoder.Output.TOKENS)) {
            TestData.assertClose(read(expected, "last_hidden_state"), tokens.toDoubleArray(), TOL, "last_hidden_state");
        }
    }

    @Test
    void foldersMae4jWritesLoadInTransformersWithoutMissingKeys(@TempDir Path dir) throws Exception {
        MaeConfig c = MaeConfig.builder().imgSize(32).patchSize(8).inChans(3).embedDim(48).depth(2).numHeads(3)
                .decoderEmbedDim(32).decoderDepth(2).decoderNumHeads(4).mlpRatio(4.0).normPixLoss(true)
                .layerNormEps(1e-5).build();
        double[] px = TestData.gaussian(2 * 3 * 32 * 32, 61), nz = TestData.uniform(2 * 16, 62);
        float[] pf = new float[px.length], nf = new float[nz.length];
        for (int i = 0; i < px.length; i++) pf[i] = (float) px[i];
        for (int i = 0; i < nz.length; i++) nf[i] = (float) nz[i];
        try (Model m = Model.create(c, Device.cpu(), 3);
             Tensor pixels = Tensor.fromFloats(pf, 2, 3, 32, 32);
             Tensor noise = Tensor.fromFloats(nf, 2, 16);
             Masker masker = Masker.fromNoise(noise, 0.6);
             ForwardResult r = m.forward(pixels, masker)) {
            m.saveHuggingFace(dir.resolve("ours"), 0.6);
            SafeTensors.write(dir.resolve("ours-inputs.safetensors"), Map.of(), List.of(
                    new SafeTensors.Source("pixel_values", DType.F32, new long[] {2, 3, 32, 32}, pixels.segment()),
                    new SafeTensors.Source("noise", DType.F32, new long[] {2, 16}, noise.segment())));
            script("read", dir);
            Path out = dir.resolve("ours-outputs.safetensors");
            assertEquals(r.loss(), read(out, "loss")[0], TOL, "loss");
            TestData.assertClose(r.pred().toDoubleArray(), read(out, "logits"), TOL, "logits");
            assertArrayEquals(r.mask().toDoubleArray(), read(out, "mask"), 0.0, "mask");
        }
    }
}
