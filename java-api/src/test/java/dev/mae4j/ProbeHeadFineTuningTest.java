package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * trainableBlocks(0), the linear probe inside the fine-tuner: the paper's head (BatchNorm1d without affine
 * parameters, eps 1e-6, momentum 0.1, before the linear layer), only its linear layer trained. The references are a
 * plain-Java double-precision BatchNorm, softmax and label-smoothed cross-entropy on the classifier's own features.
 */
class ProbeHeadFineTuningTest {
    private static final MaeConfig CONFIG = MaeConfig.tiny();
    private static final int CLASSES = 3, N = 4;
    private static final long[] LABELS = {0, 2, 1, 2};
    private static final double EPS = 1e-6, SMOOTHING = 0.1;

    private static Tensor images() {
        return TestData.images(TestData.gaussian(N * 128, 77), DType.F32, CONFIG, N);
    }

    private static double[] values(Classifier c, String name) {
        try (Tensor t = c.parameter(name)) {
            return t.toDoubleArray();
        }
    }

    private static double[][] rows(Tensor t) {
        double[] flat = t.toDoubleArray();
        int cols = (int) t.shape()[1];
        double[][] r = new double[flat.length / cols][];
        for (int i = 0; i < r.length; i++) r[i] = Arrays.copyOfRange(flat, i * cols, (i + 1) * cols);
        return r;
    }

    private static double[] mean(double[][] f) {
        double[] m = new double[f[0].length];
        for (double[] row : f) for (int k = 0; k < m.length; k++) m[k] += row[k] / f.length;
        return m;
    }

    private static double[] variance(double[][] f, double[] mean, int dof) {
        double[] v = new double[mean.length];
        for (double[] row : f) for (int k = 0; k < v.length; k++) v[k] += Math.pow(row[k] - mean[k], 2);
        for (int k = 0; k < v.length; k++) v[k] /= f.length - dof;
        return v;
    }

    /** (f − mean) / sqrt(var + eps) · Wᵀ + b, row by row. */
    private static double[][] logits(double[][] f, double[] mean, double[] var, double[] w, double[] b) {
        int d = mean.length;
        double[][] out = new double[f.length][CLASSES];
        for (int i = 0; i < f.length; i++)
            for (int c = 0; c < CLASSES; c++) {
                double s = b[c];
                for (int k = 0; k < d; k++) s += (f[i][k] - mean[k]) / Math.sqrt(var[k] + EPS) * w[c * d + k];
                out[i][c] = s;
            }
        return out;
    }

    @Test
    void theHeadAloneTrainsOnBatchNormalisedFeaturesAndEverythingElseStays() {
        try (Classifier c = Classifier.create(CONFIG, CLASSES, 0.1, TestData.device(), 5);
                Tensor x = images();
                Tensor y = Tensor.fromLongs(LABELS, N)) {
            Map<String, double[]> before = new LinkedHashMap<>();
            for (ParameterInfo p : c.parameters()) before.put(p.name(), values(c, p.name()));
            try (FineTuner t =
                    FineTuner.builder(c).learningRate(1e-2).trainableBlocks(0).build()) {
                assertEquals(0, t.trainableBlocks());
                assertTrue(c.hasProbeHead());
                List<String> names =
                        c.parameters().stream().map(ParameterInfo::name).toList();
                assertEquals(
                        List.of(
                                "head.0.running_mean",
                                "head.0.running_var",
                                "head.1.weight",
                                "head.1.bias",
                                "fc_norm.weight",
                                "fc_norm.bias"),
                        names.subList(names.size() - 6, names.size()),
                        "main_linprobe.py's state_dict names, in its order");
                for (ParameterInfo p : c.parameters())
                    assertEquals(p.name().startsWith("head.1."), p.trainable(), p.name() + " trained");
                double[] w0 = values(c, "head.1.weight");
                double sd = Math.sqrt(Arrays.stream(w0).map(v -> v * v).sum() / w0.length);
                assertTrue(sd > 0.008 && sd < 0.012, "the head is drawn again with std 0.01: " + sd);
                double[][] f;
                try (Tensor features = c.features(x)) {
                    f = rows(features);
                }
                t.step(x, y);
                t.step(x, y);
                for (ParameterInfo p : c.parameters()) {
                    if (p.name().startsWith("head.")) continue;
                    assertArrayEquals(before.get(p.name()), values(c, p.name()), p.name() + " is frozen");
                }
                assertFalse(Arrays.equals(w0, values(c, "head.1.weight")), "the linear layer trains");
                // two training batches moved the running statistics: r ← 0.9 r + 0.1 · batch (unbiased variance)
                double[] mu = mean(f), varUnbiased = variance(f, mu, 1);
                double[] rm = new double[mu.length], rv = new double[mu.length];
                for (int k = 0; k < mu.length; k++) {
                    rm[k] = (1 - 0.9 * 0.9) * mu[k];
                    rv[k] = 0.81 + (1 - 0.81) * varUnbiased[k];
                }
                TestData.assertClose(rm, values(c, "head.0.running_mean"), 1e-5, "running mean");
                TestData.assertClose(rv, values(c, "head.0.running_var"), 1e-5, "running variance");
                // evaluation normalises by the running statistics
                double[][] expected = logits(f, rm, rv, values(c, "head.1.weight"), values(c, "head.1.bias"));
                try (Tensor got = c.logits(x)) {
                    TestData.assertClose(
                            Arrays.stream(expected)
                                    .flatMapToDouble(Arrays::stream)
                                    .toArray(),
                            got.toDoubleArray(),
                            1e-4,
                            "evaluation logits");
                }
            }
        }
    }

    @Test
    void theLinearLayersGradientIsTheAnalyticOneOfTheBatchNormalisedFeatures() {
        try (Classifier c = Classifier.create(CONFIG, CLASSES, 0.0, TestData.device(), 6);
                FineTuner t = FineTuner.builder(c).trainableBlocks(0).build();
                Tensor x = images();
                Tensor y = Tensor.fromLongs(LABELS, N)) {
            double[] w = values(c, "head.1.weight"), b = values(c, "head.1.bias");
            double[][] f;
            try (Tensor features = c.features(x)) {
                f = rows(features);
            }
            double[] mu = mean(f);
            double[] var = variance(f, mu, 0); // BatchNorm normalises by the biased variance
            double[][] z = logits(f, mu, var, w, b);
            double loss = 0;
            int d = mu.length;
            double[] gw = new double[CLASSES * d], gb = new double[CLASSES];
            for (int i = 0; i < N; i++) {
                double max = Arrays.stream(z[i]).max().orElseThrow(), sum = 0;
                for (double v : z[i]) sum += Math.exp(v - max);
                for (int k = 0; k < CLASSES; k++) {
                    double p = Math.exp(z[i][k] - max) / sum;
                    double target = (k == LABELS[i] ? 1 - SMOOTHING : 0) + SMOOTHING / CLASSES;
                    loss -= target * Math.log(p) / N;
                    double g = (p - target) / N; // d loss / d logit
                    gb[k] += g;
                    for (int j = 0; j < d; j++) gw[k * d + j] += g * (f[i][j] - mu[j]) / Math.sqrt(var[j] + EPS);
                }
            }
            // the classifier's own training backward (no stochastic depth here: the tuner's features)
            TestData.assertClose(loss, c.lossBackward(x, y, SMOOTHING), 1e-5, "loss");
            try (Tensor gotW = c.gradient("head.1.weight");
                    Tensor gotB = c.gradient("head.1.bias")) {
                TestData.assertClose(gw, gotW.toDoubleArray(), 1e-5, "head.1.weight gradient");
                TestData.assertClose(gb, gotB.toDoubleArray(), 1e-5, "head.1.bias gradient");
            }
            // the tuner's step: the same loss, and AdamW's first move of the bias (no weight decay on 1-D) is
            // −lr · g / (|g| + eps)
            double lr = 1e-3;
            TestData.assertClose(loss, t.step(x, y), 1e-5, "the step's loss");
            double[] moved = values(c, "head.1.bias");
            for (int k = 0; k < CLASSES; k++)
                TestData.assertClose(-lr * gb[k] / (Math.abs(gb[k]) + 1e-8), moved[k] - b[k], 1e-6, "bias step " + k);
            TestData.assertRefused(
                    IllegalArgumentException.class, "is not trained", () -> c.gradient("fc_norm.weight"));
            TestData.assertRefused(
                    IllegalArgumentException.class, "is not trained", () -> c.gradient("blocks.1.mlp.fc2.weight"));
        }
    }

    @Test
    void savedAndLoadedTheProbeHeadGivesTheSameLogits(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("probe.safetensors");
        double[] expected;
        try (Classifier c = Classifier.create(CONFIG, CLASSES, 0.0, TestData.device(), 7);
                FineTuner t = FineTuner.builder(c).trainableBlocks(0).build();
                Tensor x = images();
                Tensor y = Tensor.fromLongs(LABELS, N)) {
            t.step(x, y);
            c.save(file);
            try (Tensor l = c.logits(x)) {
                expected = l.toDoubleArray();
            }
        }
        try (Classifier back = Classifier.load(file, TestData.device());
                Tensor x = images();
                Tensor l = back.logits(x)) {
            assertTrue(back.hasProbeHead());
            assertArrayEquals(expected, l.toDoubleArray(), "running statistics and weights come back");
        }
    }

    @Test
    void aCheckpointResumesTheProbeAndBlocksAreNotTrainedUnderIt(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("checkpoint.safetensors");
        Map<String, double[]> saved = new LinkedHashMap<>();
        try (Classifier c = Classifier.create(CONFIG, CLASSES, 0.0, TestData.device(), 8);
                FineTuner t = FineTuner.builder(c).trainableBlocks(0).build();
                Tensor x = images();
                Tensor y = Tensor.fromLongs(LABELS, N)) {
            t.step(x, y);
            t.saveCheckpoint(file, Map.of("epoch", "1"));
            for (ParameterInfo p : c.parameters()) saved.put(p.name(), values(c, p.name()));
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "has the linear-probe head",
                    () -> FineTuner.builder(c).trainableBlocks(1).build());
            try (Tensor one = TestData.images(TestData.gaussian(128, 3), DType.F32, CONFIG, 1);
                    Tensor label = Tensor.fromLongs(new long[] {1}, 1)) {
                TestData.assertRefused(
                        IllegalArgumentException.class,
                        "at least 2 images in a training batch",
                        () -> t.step(one, label));
            }
        }
        try (Classifier c = Classifier.create(CONFIG, CLASSES, 0.0, TestData.device(), 9);
                FineTuner t = FineTuner.builder(c).trainableBlocks(0).build()) {
            assertEquals(Map.of("epoch", "1"), t.loadCheckpoint(file));
            for (ParameterInfo p : c.parameters())
                assertArrayEquals(saved.get(p.name()), values(c, p.name()), p.name() + " restored");
        }
    }
}
