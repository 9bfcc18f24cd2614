package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fine-tuning classifier against the plain-Java models_vit reference, finite differences and its file format. */
class ClassifierTest {
    private static final MaeConfig F64 =
            MaeConfig.tiny().toBuilder().precision(DType.F64).build();
    private static final int N = 3;
    static final int CLASSES = 4;

    /** A classifier whose head is not ~0 (as initialised), so the logits test something. */
    static Classifier classifier(MaeConfig config, long seed) {
        Classifier c = Classifier.create(config, CLASSES, 0.0, TestData.device(), seed);
        double[] head = TestData.gaussian(CLASSES * config.embedDim(), seed + 1);
        try (Tensor t = Tensor.fromDoubles(head, CLASSES, config.embedDim())) {
            c.setParameter("head.weight", t);
        }
        return c;
    }

    @Test
    void logitsAndLossMatchThePlainJavaReference() {
        double[] pixels = TestData.gaussian(N * 128, 31);
        long[] labels = {0, 3, 1};
        try (Classifier c = classifier(F64, 7);
                Tensor images = Tensor.fromDoubles(pixels, N, 2, 8, 8);
                Tensor y = Tensor.fromLongs(labels, N);
                Tensor logits = c.logits(images)) {
            ReferenceMae ref = new ReferenceMae(c);
            double[] expected = ref.classifierLogits(pixels, N);
            assertArrayEquals(new long[] {N, CLASSES}, logits.shape());
            TestData.assertClose(expected, logits.toDoubleArray(), 1e-10, "logits");
            TestData.assertClose(
                    ReferenceMae.smoothedCrossEntropy(expected, labels, CLASSES, 0.1),
                    c.loss(images, y, 0.1),
                    1e-10,
                    "smoothed loss");
            TestData.assertClose(
                    ReferenceMae.smoothedCrossEntropy(expected, labels, CLASSES, 0.0),
                    c.loss(images, y, 0.0),
                    1e-10,
                    "plain loss");
        }
    }

    @Test
    void float32AgreesWithTheReference() {
        double[] pixels = TestData.roundedToFloat(TestData.gaussian(N * 128, 32));
        MaeConfig f32 = MaeConfig.tiny();
        try (Classifier c = classifier(f32, 8);
                Tensor images = TestData.images(pixels, DType.F32, f32, N);
                Tensor logits = c.logits(images)) {
            TestData.assertClose(
                    new ReferenceMae(c).classifierLogits(pixels, N), logits.toDoubleArray(), 1e-5, "F32 logits");
        }
    }

    @Test
    void encoderWeightsAreCopiedAndTheHeadStartsAsMainFinetune() {
        MaeConfig big = MaeConfig.tiny().toBuilder().embedDim(64).numHeads(4).build();
        try (Model encoder = Model.create(big, TestData.device(), 3);
                Classifier c = Classifier.fromEncoder(encoder, 10, 0.1, 4)) {
            for (ParameterInfo p : c.parameters()) {
                if (p.name().startsWith("head.") || p.name().startsWith("fc_norm.")) continue;
                try (Tensor a = encoder.parameter(p.name());
                        Tensor b = c.parameter(p.name())) {
                    assertArrayEquals(a.toDoubleArray(), b.toDoubleArray(), p.name());
                }
                assertTrue(p.trainable(), p.name() + " is trained when fine-tuning");
            }
            assertEquals(4 + 12 * big.depth() + 4, c.parameters().size());
            try (Tensor w = c.parameter("head.weight");
                    Tensor b = c.parameter("head.bias");
                    Tensor g = c.parameter("fc_norm.weight");
                    Tensor beta = c.parameter("fc_norm.bias")) {
                double[] v = w.toDoubleArray();
                double sq = 0;
                for (double x : v) sq += x * x;
                double sd = Math.sqrt(sq / v.length);
                assertTrue(sd > 1.5e-5 && sd < 2.5e-5, "head.weight spread " + sd + " should be ~2e-5");
                for (double x : b.toDoubleArray()) assertEquals(0.0, x);
                for (double x : g.toDoubleArray()) assertEquals(1.0, x);
                for (double x : beta.toDoubleArray()) assertEquals(0.0, x);
            }
            assertThrows(
                    IllegalArgumentException.class,
                    () -> c.parameter("norm.weight"),
                    "the encoder's final norm is dropped");
        }
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        double[] pixels = TestData.gaussian(N * 128, 33);
        Random pick = new Random(34);
        double h = 1e-5;
        try (Classifier c = classifier(F64, 9);
                Tensor images = Tensor.fromDoubles(pixels, N, 2, 8, 8);
                Tensor y = Tensor.fromLongs(new long[] {2, 0, 3}, N)) {
            c.lossBackward(images, y, 0.1);
            int checked = 0;
            for (ParameterInfo p : c.parameters()) {
                double[] grad;
                try (Tensor g = c.gradient(p.name())) {
                    grad = g.toDoubleArray();
                }
                try (Tensor value = c.parameter(p.name())) {
                    for (int k = 0; k < 2; k++) {
                        int i = pick.nextInt((int) p.elementCount());
                        double orig = value.segment().getAtIndex(ValueLayout.JAVA_DOUBLE, i);
                        value.segment().setAtIndex(ValueLayout.JAVA_DOUBLE, i, orig + h);
                        c.setParameter(p.name(), value);
                        double up = c.loss(images, y, 0.1);
                        value.segment().setAtIndex(ValueLayout.JAVA_DOUBLE, i, orig - h);
                        c.setParameter(p.name(), value);
                        double down = c.loss(images, y, 0.1);
                        value.segment().setAtIndex(ValueLayout.JAVA_DOUBLE, i, orig);
                        c.setParameter(p.name(), value);
                        double fd = (up - down) / (2 * h);
                        assertTrue(
                                Math.abs(fd - grad[i]) <= 1e-7 + 1e-5 * Math.abs(fd),
                                p.name() + "[" + i + "]: analytic " + grad[i] + ", finite difference " + fd);
                        checked++;
                    }
                }
            }
            assertEquals(2 * c.parameters().size(), checked);
        }
    }

    @Test
    void stochasticDepthIsOnlyOnInTraining() {
        double[] pixels = TestData.gaussian(8 * 128, 35);
        try (Classifier c = Classifier.create(F64, CLASSES, 0.5, TestData.device(), 1);
                Tensor images = Tensor.fromDoubles(pixels, 8, 2, 8, 8);
                Tensor y = Tensor.fromLongs(new long[] {0, 1, 2, 3, 0, 1, 2, 3}, 8)) {
            assertEquals(c.loss(images, y, 0.1), c.loss(images, y, 0.1), "evaluation is deterministic");
            double eval = c.loss(images, y, 0.1);
            boolean differs = false;
            for (int i = 0; i < 5 && !differs; i++) differs = c.lossBackward(images, y, 0.1) != eval;
            assertTrue(differs, "with drop_path 0.5 a training pass drops some residual branches");
        }
    }

    @Test
    void saveAndLoadRoundTripBitExactly(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("classifier.safetensors");
        double[] pixels = TestData.gaussian(N * 128, 36);
        try (Classifier c = classifier(F64, 10);
                Tensor images = Tensor.fromDoubles(pixels, N, 2, 8, 8)) {
            c.save(file);
            try (Classifier back = Classifier.load(file, TestData.device());
                    Tensor a = c.logits(images);
                    Tensor b = back.logits(images)) {
                assertEquals(CLASSES, back.numClasses());
                assertEquals(c.config(), back.config());
                assertArrayEquals(a.toDoubleArray(), b.toDoubleArray());
            }
        }
        Path mae = dir.resolve("mae.safetensors");
        try (Model m = Model.create(MaeConfig.tiny(), TestData.device(), 1)) {
            m.save(mae);
        }
        CheckpointException e = assertThrows(CheckpointException.class, () -> Classifier.load(mae, TestData.device()));
        assertTrue(e.getMessage().contains("num_classes"), e.getMessage());
    }

    @Test
    void badLabelsAreRefusedWithTheirProblemNamed() {
        try (Classifier c = classifier(F64, 11);
                Tensor images = Tensor.fromDoubles(TestData.gaussian(N * 128, 37), N, 2, 8, 8);
                Tensor outOfRange = Tensor.fromLongs(new long[] {0, 4, 1}, N);
                Tensor tooFew = Tensor.fromLongs(new long[] {0, 1}, 2);
                Tensor floats = Tensor.fromDoubles(new double[] {0, 1, 2}, N);
                Tensor valid = Tensor.fromLongs(new long[] {0, 1, 2}, N)) {
            assertMessage(() -> c.loss(images, outOfRange, 0.1), "labels must be in [0, 4)");
            assertMessage(() -> c.loss(images, tooFew, 0.1), "labels must be [3]");
            assertMessage(() -> c.loss(images, floats, 0.1), "labels must be I64");
            assertMessage(() -> c.loss(images, valid, 1.5), "label_smoothing");
        }
        assertThrows(IllegalArgumentException.class, () -> Classifier.create(F64, 0, 0.1, TestData.device(), 1));
        assertThrows(IllegalArgumentException.class, () -> Classifier.create(F64, 3, 1.0, TestData.device(), 1));
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable call, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' should mention '" + fragment + "'");
    }

    @Test
    void aRestoredDropPathStateRepeatsTheDrawsAndAForeignOneIsRefused() {
        try (Classifier c = Classifier.create(F64, CLASSES, 0.5, TestData.device(), 3);
                Tensor images = Tensor.fromDoubles(TestData.gaussian(N * 128, 47), N, 2, 8, 8);
                Tensor y = Tensor.fromLongs(new long[] {0, 1, 2}, N)) {
            byte[] state = c.dropPathState();
            double first = c.lossBackward(images, y, 0.0); // training mode: stochastic depth drawn
            assertNotEquals(first, c.lossBackward(images, y, 0.0), "the next draws differ");
            c.restoreDropPathState(state);
            assertEquals(first, c.lossBackward(images, y, 0.0), 0.0, "the same stochastic depth after the restore");
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> c.restoreDropPathState(new byte[3]));
            assertTrue(e.getMessage().contains("as mae_classifier_rng_state_get returns"), e.getMessage());
        }
    }
}
