package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mae4j.data.Mixup;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fine-tuning updates against a hand-written first AdamW step with layer-wise lr decay, and learning itself. */
class FineTunerTest {
    private static final MaeConfig F64 =
            MaeConfig.tiny().toBuilder().precision(DType.F64).build(); // depth 2
    private static final int N = 4;

    /** util/lr_decay.py for depth 2: embeddings layer 0, blocks.i layer i + 1, the rest layer 3. */
    private static double expectedScale(String name, double decay) {
        int layer;
        if (name.equals("cls_token") || name.equals("pos_embed") || name.startsWith("patch_embed")) layer = 0;
        else if (name.startsWith("blocks.")) layer = Integer.parseInt(name.split("\\.")[1]) + 1;
        else layer = 3;
        return Math.pow(decay, 3 - layer);
    }

    private static boolean expectedDecay(ParameterInfo p) {
        return p.shape().length > 1
                && !p.name().equals("pos_embed")
                && !p.name().equals("cls_token");
    }

    @Test
    void firstStepIsAdamWWithLayerDecayAndTheReferenceGroups() {
        double lr = 1e-2, wd = 0.3, decay = 0.5, eps = 1e-8;
        try (Classifier c = ClassifierTest.classifier(F64, 12);
                Tensor images = Tensor.fromDoubles(TestData.gaussian(N * 128, 41), N, 2, 8, 8);
                Tensor y = Tensor.fromLongs(new long[] {0, 1, 2, 3}, N)) {
            // The step's gradient equals lossBackward's: no stochastic depth, same weights, same batch.
            c.lossBackward(images, y, 0.1);
            Map<String, double[]> before = new HashMap<>(), grads = new HashMap<>();
            for (ParameterInfo p : c.parameters()) {
                try (Tensor v = c.parameter(p.name());
                        Tensor g = c.gradient(p.name())) {
                    before.put(p.name(), v.toDoubleArray());
                    grads.put(p.name(), g.toDoubleArray());
                }
            }
            try (FineTuner t = FineTuner.builder(c)
                    .stepThreads(1)
                    .learningRate(lr)
                    .weightDecay(wd)
                    .layerDecay(decay)
                    .eps(eps)
                    .labelSmoothing(0.1)
                    .build()) {
                t.step(images, y);
                assertEquals(1, t.stepCount());
            }
            for (ParameterInfo p : c.parameters()) {
                double s = expectedScale(p.name(), decay), lrP = lr * s;
                double[] p0 = before.get(p.name()), g = grads.get(p.name()), expected = new double[p0.length];
                // First AdamW step: m̂ = g, v̂ = g², so the step is lr·g/(|g| + eps); decay first, as torch does.
                for (int i = 0; i < p0.length; i++) {
                    double decayed = expectedDecay(p) ? p0[i] * (1 - lrP * wd) : p0[i];
                    expected[i] = decayed - lrP * g[i] / (Math.abs(g[i]) + eps);
                }
                try (Tensor after = c.parameter(p.name())) {
                    TestData.assertClose(expected, after.toDoubleArray(), 1e-12, p.name() + " (lr scale " + s + ")");
                }
            }
        }
    }

    @Test
    void smoothedOneHotTargetsGiveTheLabelledStepExactly() {
        long[] labels = {0, 1, 2, 3};
        try (Classifier a = ClassifierTest.classifier(F64, 12);
                Classifier b = ClassifierTest.classifier(F64, 12);
                Tensor images = Tensor.fromDoubles(TestData.gaussian(N * 128, 43), N, 2, 8, 8);
                Tensor y = Tensor.fromLongs(labels, N);
                Tensor targets = Tensor.fromDoubles(
                        smoothedOneHot(labels, ClassifierTest.CLASSES, 0.1), N, ClassifierTest.CLASSES);
                FineTuner ta = FineTuner.builder(a)
                        .learningRate(1e-2)
                        .labelSmoothing(0.1)
                        .build();
                FineTuner tb = FineTuner.builder(b)
                        .learningRate(1e-2)
                        .labelSmoothing(0.3)
                        .build()) { // not added to targets
            assertEquals(ta.step(images, y), tb.stepSoftTargets(images, targets), 1e-12);
            for (ParameterInfo p : a.parameters()) {
                try (Tensor pa = a.parameter(p.name());
                        Tensor pb = b.parameter(p.name())) {
                    TestData.assertClose(pa.toDoubleArray(), pb.toDoubleArray(), 1e-12, p.name());
                }
            }
        }
    }

    /** 1 − s + s/K on each label, s/K elsewhere: label smoothing written as targets, by hand. */
    private static double[] smoothedOneHot(long[] labels, int k, double s) {
        double[] t = new double[labels.length * k];
        for (int i = 0; i < labels.length; i++)
            for (int c = 0; c < k; c++) t[i * k + c] = s / k + (c == labels[i] ? 1 - s : 0);
        return t;
    }

    @Test
    void mixedTargetsWeighTheTwoLabelsLosses() {
        // soft cross-entropy is linear in the targets: lam · CE(y) + (1 − lam) · CE(y reversed), both smoothed
        long[] labels = {0, 1, 2, 3}, reversed = {3, 2, 1, 0};
        double lam = 0.3;
        try (Classifier c = ClassifierTest.classifier(F64, 12);
                Tensor images = Tensor.fromDoubles(TestData.gaussian(N * 128, 44), N, 2, 8, 8);
                Tensor y = Tensor.fromLongs(labels, N);
                Tensor yr = Tensor.fromLongs(reversed, N);
                Tensor targets = Tensor.fromFloats(
                        Mixup.targets(labels, ClassifierTest.CLASSES, lam, 0.1), N, ClassifierTest.CLASSES);
                FineTuner t = FineTuner.builder(c).learningRate(1e-2).build()) {
            double expected = lam * c.loss(images, y, 0.1) + (1 - lam) * c.loss(images, yr, 0.1);
            assertEquals(expected, t.stepSoftTargets(images, targets), 1e-6); // F32 targets: rounding near 1e-8
        }
    }

    @Test
    void badTargetsAreRefused() {
        try (Classifier c = ClassifierTest.classifier(F64, 12);
                Tensor images = Tensor.fromDoubles(TestData.gaussian(N * 128, 45), N, 2, 8, 8);
                Tensor halves = Tensor.fromFloats(new float[N * ClassifierTest.CLASSES], N, ClassifierTest.CLASSES);
                Tensor narrow = Tensor.fromFloats(new float[N * 2], N, 2);
                FineTuner t = FineTuner.builder(c).build()) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> t.stepSoftTargets(images, halves));
            assertTrue(e.getMessage().contains("must sum to 1"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> t.stepSoftTargets(images, narrow));
            assertTrue(e.getMessage().contains("targets must be [4, " + ClassifierTest.CLASSES + "]"), e.getMessage());
            assertEquals(0, t.stepCount(), "refused steps update nothing");
        }
    }

    @Test
    void aCheckpointResumesTheExactSequence(@TempDir Path dir) throws IOException {
        // stochastic depth on: the resumed run must also continue the generator's draws
        Path file = dir.resolve("ft.safetensors");
        long[] labels = {0, 1, 2, 3};
        LrSchedule schedule = LrSchedule.warmupCosine(1e-2, 1e-4, 1, 4);
        double[] uninterrupted = new double[2], resumed = new double[2];
        Map<String, double[]> finalWeights = new HashMap<>();
        try (Classifier c = Classifier.create(F64, 4, 0.5, TestData.device(), 5);
                Tensor images = Tensor.fromDoubles(TestData.gaussian(N * 128, 46), N, 2, 8, 8);
                Tensor y = Tensor.fromLongs(labels, N);
                FineTuner t = FineTuner.builder(c).schedule(schedule).build()) {
            t.step(images, y);
            t.step(images, y);
            t.saveCheckpoint(file, Map.of("epoch", "0.5"));
            for (int i = 0; i < 2; i++) uninterrupted[i] = t.step(images, y);
            for (ParameterInfo p : c.parameters()) {
                try (Tensor v = c.parameter(p.name())) {
                    finalWeights.put(p.name(), v.toDoubleArray());
                }
            }
        }
        try (Classifier c = Classifier.create(F64, 4, 0.5, TestData.device(), 99); // other weights, other draws
                Tensor images = Tensor.fromDoubles(TestData.gaussian(N * 128, 46), N, 2, 8, 8);
                Tensor y = Tensor.fromLongs(labels, N);
                FineTuner t = FineTuner.builder(c).schedule(schedule).build()) {
            assertEquals(Map.of("epoch", "0.5"), t.loadCheckpoint(file));
            assertEquals(2, t.stepCount());
            for (int i = 0; i < 2; i++) resumed[i] = t.step(images, y);
            assertArrayEquals(uninterrupted, resumed, 0.0, "losses after the checkpoint");
            for (ParameterInfo p : c.parameters()) {
                try (Tensor v = c.parameter(p.name())) {
                    assertArrayEquals(finalWeights.get(p.name()), v.toDoubleArray(), 0.0, p.name());
                }
            }
        }
        try (Classifier other = Classifier.create(F64, 3, 0.5, TestData.device(), 5);
                FineTuner t = FineTuner.builder(other).build()) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> t.loadCheckpoint(file));
            assertTrue(e.getMessage().contains("head"), e.getMessage()); // 3 classes, the file has 4
        }
        try (Model m = Model.create(F64, TestData.device(), 1);
                Trainer trainer = Trainer.builder(m).build();
                Masker masker = Masker.random(0.75, 1);
                Classifier c = Classifier.create(F64, 4, 0.5, TestData.device(), 5);
                FineTuner t = FineTuner.builder(c).build()) {
            Path pretraining = dir.resolve("pretraining.safetensors");
            trainer.saveCheckpoint(pretraining, masker, Map.of());
            CheckpointException e = assertThrows(CheckpointException.class, () -> t.loadCheckpoint(pretraining));
            assertTrue(
                    e.getMessage().contains("is not a fine-tuning checkpoint (format mae4j-training)"), e.getMessage());
        }
    }

    @Test
    void fineTuningLearnsASmallSet() {
        // 16 images of 4 classes, each class a different mean brightness: 100 updates must fit them.
        int n = 16;
        double[] pixels = TestData.gaussian(n * 128, 42);
        long[] labels = new long[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 4;
            for (int k = 0; k < 128; k++) pixels[i * 128 + k] = 0.3 * pixels[i * 128 + k] + (labels[i] - 1.5);
        }
        MaeConfig config = MaeConfig.tiny();
        try (Classifier c = Classifier.create(config, 4, 0.0, TestData.device(), 3);
                Tensor images = TestData.images(pixels, DType.F32, config, n);
                Tensor y = Tensor.fromLongs(labels, n);
                FineTuner t =
                        FineTuner.builder(c).learningRate(3e-3).layerDecay(0.75).build()) {
            double first = c.loss(images, y, 0.1);
            for (int i = 0; i < 100; i++) t.step(images, y);
            double last = c.loss(images, y, 0.1);
            assertTrue(last < 0.75 * first, "loss " + first + " -> " + last);
            int[] predicted = c.predict(images);
            int right = 0;
            for (int i = 0; i < n; i++) if (predicted[i] == labels[i]) right++;
            assertEquals(n, right, "training accuracy");
        }
    }

    @Test
    void badSettingsAreRefused() {
        try (Classifier c = Classifier.create(F64, 3, 0.0, TestData.device(), 1)) {
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "layerDecay must be in (0, 1], got 0.0",
                    () -> FineTuner.builder(c).layerDecay(0).build());
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "layerDecay must be in (0, 1], got 1.5",
                    () -> FineTuner.builder(c).layerDecay(1.5).build());
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "labelSmoothing must be in [0, 1), got 1.0",
                    () -> FineTuner.builder(c).labelSmoothing(1).build());
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "beta2 must be in [0, 1)",
                    () -> FineTuner.builder(c).betas(0.9, 1.0).build());
            try (FineTuner t = FineTuner.builder(c).build()) {
                assertEquals(
                        2 * c.parameters().size() + 1,
                        t.optimizerStateNames().size(),
                        "two moments for every classifier parameter (every one is trained), then AdamW's step");
            }
        }
    }
}
