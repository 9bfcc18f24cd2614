package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Encoder.load's inference path (mae_encoder_*): only the encoder is built, its features are the full model's
 * encoder's, they can be written into a caller's buffer, and bfloat16 products stay close to float32's.
 */
class EncoderInferencePathTest {
    private static final MaeConfig CONFIG = MaeConfig.tiny();

    private static Tensor images(int n, long seed) {
        return TestData.images(TestData.gaussian(n * 128, seed), DType.F32, CONFIG, n);
    }

    private static Path saved(Path dir, long seed) throws Exception {
        Path file = dir.resolve("mae-" + seed + ".safetensors");
        try (Model m = Model.create(CONFIG, Device.cpu(), seed)) {
            m.save(file);
        }
        return file;
    }

    @Test
    void onlyTheEncoderIsBuiltAndItsFeaturesAreTheModels(@TempDir Path dir) throws Exception {
        Path file = saved(dir, 4);
        try (Model m = Model.load(file, Device.cpu());
                Encoder e = Encoder.load(file, Device.cpu());
                Tensor x = images(3, 8);
                Tensor tokens = e.embed(x, Encoder.Output.TOKENS);
                Tensor cls = e.embed(x, Encoder.Output.CLS);
                Tensor mean = e.embed(x, Encoder.Output.MEAN);
                Encoder reference = Encoder.of(m);
                Tensor refTokens = reference.embed(x, Encoder.Output.TOKENS);
                Tensor refCls = reference.embed(x, Encoder.Output.CLS);
                Tensor refMean = reference.embed(x, Encoder.Output.MEAN)) {
            TestData.assertClose(refTokens.toDoubleArray(), tokens.toDoubleArray(), 1e-6, "tokens");
            TestData.assertClose(refCls.toDoubleArray(), cls.toDoubleArray(), 1e-6, "[CLS]");
            TestData.assertClose(refMean.toDoubleArray(), mean.toDoubleArray(), 1e-6, "mean");
        }
        try (Encoder e = Encoder.load(file, Device.cpu())) {
            List<String> names =
                    e.parameters().stream().map(ParameterInfo::name).toList();
            assertTrue(names.stream().noneMatch(n -> n.startsWith("decoder") || n.equals("mask_token")), "" + names);
            assertEquals(4 + 12 * CONFIG.depth() + 2, names.size(), "embeddings, blocks and the final norm: " + names);
        }
    }

    @Test
    void aBatchRunInPiecesGivesEveryImageItsFeaturesInOrder(@TempDir Path dir) throws Exception {
        Path file = saved(dir, 7);
        int n = 200; // 17 tokens an image: pieces of 94 images
        try (Model m = Model.load(file, Device.cpu());
                Encoder whole = Encoder.of(m);
                Encoder pieces = Encoder.load(file, Device.cpu());
                Tensor x = images(n, 11);
                Tensor expected = whole.embed(x, Encoder.Output.MEAN);
                Tensor got = pieces.embed(x, Encoder.Output.MEAN)) {
            assertArrayEquals(new long[] {n, 8}, got.shape());
            TestData.assertClose(expected.toDoubleArray(), got.toDoubleArray(), 1e-5, "features of 200 images");
        }
    }

    @Test
    void featuresAreWrittenIntoTheCallersBuffer(@TempDir Path dir) throws Exception {
        Path file = saved(dir, 5);
        try (Encoder e = Encoder.load(file, Device.cpu());
                Arena arena = Arena.ofConfined();
                Tensor x = images(2, 9);
                Tensor expected = e.embed(x, Encoder.Output.CLS)) {
            MemorySegment buffer = arena.allocate(2 * 8 * Float.BYTES, 64);
            try (Tensor out = Tensor.wrap(buffer, 2, 8)) {
                e.embedInto(x, Encoder.Output.CLS, out);
                assertArrayEquals(expected.toFloatArray(), out.toFloatArray());
            }
            assertEquals(expected.toFloatArray()[3], buffer.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 3));
            try (Tensor wrong = Tensor.wrap(buffer, 1, 16)) {
                TestData.assertRefused(
                        IllegalArgumentException.class,
                        "out has shape [1, 16]",
                        () -> e.embedInto(x, Encoder.Output.CLS, wrong));
            }
        }
        // an encoder of a caller's model copies into the buffer too
        try (Model m = Model.create(CONFIG, Device.cpu(), 5);
                Encoder e = Encoder.of(m);
                Tensor x = images(2, 9);
                Tensor expected = e.embed(x, Encoder.Output.MEAN);
                Tensor out = Tensor.zeros(DType.F64, 2, 8);
                Tensor out32 = Tensor.zeros(DType.F32, 2, 8)) {
            e.embedInto(x, Encoder.Output.MEAN, out);
            assertArrayEquals(expected.toDoubleArray(), out.toDoubleArray());
            e.embedInto(x, Encoder.Output.MEAN, out32); // the same dtype: copied segment to segment
            assertArrayEquals(expected.toFloatArray(), out32.toFloatArray());
        }
    }

    @Test
    void bfloat16ProductsStayCloseToFloat32s(@TempDir Path dir) throws Exception {
        Path file = saved(dir, 6);
        try (Encoder e = Encoder.load(file, Device.cpu());
                Tensor x = images(4, 10)) {
            float[] f32, bf16, again;
            try (Tensor t = e.embed(x, Encoder.Output.CLS)) {
                f32 = t.toFloatArray();
            }
            e.setBf16(true);
            try (Tensor t = e.embed(x, Encoder.Output.CLS)) {
                bf16 = t.toFloatArray();
            }
            e.setBf16(false);
            try (Tensor t = e.embed(x, Encoder.Output.CLS)) {
                again = t.toFloatArray();
            }
            assertFalse(java.util.Arrays.equals(f32, bf16), "the products ran in bfloat16");
            assertArrayEquals(f32, again, "float32 again after bfloat16");
            for (int i = 0; i < 4; i++) {
                double dot = 0, a = 0, b = 0;
                for (int d = 0; d < 8; d++) {
                    dot += f32[i * 8 + d] * bf16[i * 8 + d];
                    a += f32[i * 8 + d] * f32[i * 8 + d];
                    b += bf16[i * 8 + d] * bf16[i * 8 + d];
                }
                double cosine = dot / Math.sqrt(a * b);
                assertTrue(cosine > 0.999, "image " + i + ": cosine " + cosine);
            }
        }
        try (Model m = Model.create(CONFIG, Device.cpu(), 6);
                Encoder e = Encoder.of(m)) {
            TestData.assertRefused(UnsupportedOperationException.class, "Encoder.load", () -> e.setBf16(true));
        }
    }
}
