package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Trainer steps against a plain-Java torch.optim.AdamW on the same gradients. */
class AdamWTest {
    private static final MaeConfig CONFIG =
            MaeConfig.tiny().toBuilder().precision(DType.F64).build();
    private static final double LR = 1e-2, B1 = 0.9, B2 = 0.95, EPS = 1e-8, WD = 0.05;
    private static final int STEPS = 5;

    /** The reference's groups, by name: no decay for biases and 1-D tensors (cls and mask tokens decay). */
    private static boolean decays(ParameterInfo p) {
        return p.shape().length > 1 && !p.name().endsWith(".bias");
    }

    // F64 to rounding; F32 to float's (the reference keeps its moments in double). Several steps, so that the
    // moments' decay (the betas) and the bias correction's count show in the weights and in the state.
    @ParameterizedTest
    @CsvSource({"F64, 1e-12", "F32, 1e-6"})
    void severalStepsEqualPlainJavaAdamW(DType precision, double tolerance) {
        double[] pixels = TestData.gaussian(2 * 128, 31);
        double[] noise = TestData.uniform(2 * 16, 32);
        try (Model model = Model.create(CONFIG.toBuilder().precision(precision).build(), TestData.device(), 3);
                Trainer trainer = Trainer.builder(model)
                        .learningRate(LR)
                        .betas(B1, B2)
                        .eps(EPS)
                        .weightDecay(WD)
                        .stepThreads(1)
                        .build(); // the unsplit step: its gradient is forwardBackward's, bit for bit
                Tensor images = Tensor.fromDoubles(pixels, 2, 2, 8, 8);
                Tensor noiseT = Tensor.fromDoubles(noise, 2, 16);
                Masker masker = Masker.fromNoise(noiseT, 0.75)) {
            Map<String, double[]> p = values(model, false), m = new HashMap<>(), v = new HashMap<>();
            for (int t = 1; t <= STEPS; t++) {
                double expectedLoss;
                try (ForwardResult r = model.forwardBackward(images, masker)) {
                    expectedLoss = r.loss();
                }
                Map<String, double[]> g = values(model, true);
                assertEquals(expectedLoss, trainer.step(images, masker), 0.0, "the step's loss is its forward's");
                for (ParameterInfo info : model.parameters()) {
                    String name = info.name();
                    if (!info.trainable()) continue;
                    adamw(
                            p.get(name),
                            g.get(name),
                            m.computeIfAbsent(name, k -> new double[g.get(k).length]),
                            v.computeIfAbsent(name, k -> new double[g.get(k).length]),
                            t,
                            decays(info));
                }
                Map<String, double[]> actual = values(model, false);
                for (ParameterInfo info : model.parameters())
                    TestData.assertClose(
                            p.get(info.name()), actual.get(info.name()), tolerance, "step " + t + " " + info.name());
                for (String name : m.keySet()) {
                    try (Tensor ma = trainer.optimizerState("exp_avg." + name);
                            Tensor va = trainer.optimizerState("exp_avg_sq." + name)) {
                        // relative to the entry's largest value: the moments are small numbers
                        TestData.assertClose(
                                m.get(name),
                                ma.toDoubleArray(),
                                tolerance * largest(m.get(name)),
                                "exp_avg after step " + t + " " + name);
                        TestData.assertClose(
                                v.get(name),
                                va.toDoubleArray(),
                                tolerance * largest(v.get(name)),
                                "exp_avg_sq after step " + t + " " + name);
                    }
                }
                try (Tensor applied = trainer.optimizerState("step")) {
                    assertArrayEquals(new double[] {t}, applied.toDoubleArray());
                }
            }
            assertEquals(STEPS, trainer.stepCount());
        }
    }

    @Test
    void weightDecayReachesExactlyTheReferenceGroups() {
        // Same weights, gradients and Adam moments: the two runs differ only by the decoupled decay −lr·wd·p.
        double[] pixels = TestData.gaussian(2 * 128, 33);
        try (Model plain = Model.create(CONFIG, TestData.device(), 4);
                Model decayed = Model.create(CONFIG, TestData.device(), 4);
                Trainer t0 =
                        Trainer.builder(plain).learningRate(LR).weightDecay(0).build();
                Trainer t1 = Trainer.builder(decayed)
                        .learningRate(LR)
                        .weightDecay(0.5)
                        .build();
                Tensor images = Tensor.fromDoubles(pixels, 2, 2, 8, 8);
                Masker m0 = Masker.random(0.75, 1);
                Masker m1 = Masker.random(0.75, 1)) {
            Map<String, double[]> before = values(plain, false);
            t0.step(images, m0);
            t1.step(images, m1);
            Map<String, double[]> a = values(plain, false), b = values(decayed, false);
            int decaying = 0;
            for (ParameterInfo info : plain.parameters()) {
                double[] p0 = before.get(info.name()), diff = new double[p0.length], expected = new double[p0.length];
                boolean decay = info.trainable() && decays(info);
                for (int i = 0; i < p0.length; i++) {
                    diff[i] = b.get(info.name())[i] - a.get(info.name())[i];
                    expected[i] = decay ? -LR * 0.5 * p0[i] : 0;
                }
                TestData.assertClose(expected, diff, 1e-12, info.name());
                if (decay) decaying++;
            }
            // qkv, proj, fc1, fc2 per block (3 blocks), patch embedding, decoder embed and pred, two tokens
            assertEquals(3 * 4 + 1 + 2 + 2, decaying);
        }
        assertArrayEquals(new boolean[] {true, true, false, false, false}, new boolean[] {
            decays(info("cls_token", 1, 1, 8)),
            decays(info("blocks.0.attn.qkv.weight", 24, 8)),
            decays(info("blocks.0.attn.qkv.bias", 24)),
            decays(info("norm.weight", 8)),
            decays(info("decoder_pred.bias", 8))
        });
    }

    /**
     * The recipes' betas reach the optimiser by default: Trainer's (0.9, 0.95) as main_pretrain.py, FineTuner's
     * (0.9, 0.999) as main_finetune.py. Read from the state alone: with β1 the gradient of step t is
     * (m_t − β1·m_{t−1}) / (1 − β1), and then v_t must be β2·v_{t−1} + (1 − β2)·g_t², for every element and step.
     */
    @Test
    void theBuildersDefaultBetasAreTheRecipes() {
        try (Model model = Model.create(CONFIG, TestData.device(), 3);
                Trainer trainer = Trainer.builder(model).build();
                Masker masker = Masker.random(0.75, 5)) {
            assertBetas(0.9, 0.95, "blocks.0.mlp.fc1.weight", trainer::optimizerState, s -> {
                try (Tensor images = Tensor.fromDoubles(TestData.gaussian(2 * 128, 40 + s), 2, 2, 8, 8)) {
                    trainer.step(images, masker);
                }
            });
        }
        try (Classifier c = Classifier.create(CONFIG, 3, 0.0, TestData.device(), 3);
                FineTuner tuner = FineTuner.builder(c).build();
                Tensor labels = Tensor.fromLongs(new long[] {0, 2}, 2)) {
            assertBetas(0.9, 0.999, "head.weight", tuner::optimizerState, s -> {
                try (Tensor images = Tensor.fromDoubles(TestData.gaussian(2 * 128, 50 + s), 2, 2, 8, 8)) {
                    tuner.step(images, labels);
                }
            });
        }
    }

    private static void assertBetas(
            double b1,
            double b2,
            String param,
            java.util.function.Function<String, Tensor> state,
            java.util.function.IntConsumer step) {
        double[] m0 = null, v0 = null;
        for (int s = 0; s < 4; s++) {
            step.accept(s);
            double[] m, v;
            try (Tensor mt = state.apply("exp_avg." + param);
                    Tensor vt = state.apply("exp_avg_sq." + param)) {
                m = mt.toDoubleArray();
                v = vt.toDoubleArray();
            }
            if (m0 != null) {
                double[] predicted = new double[v.length];
                for (int i = 0; i < v.length; i++) {
                    double g = (m[i] - b1 * m0[i]) / (1 - b1);
                    predicted[i] = b2 * v0[i] + (1 - b2) * g * g;
                }
                TestData.assertClose(
                        predicted,
                        v,
                        1e-9 * java.util.Arrays.stream(v).max().orElse(1),
                        "exp_avg_sq of " + param + " after step " + (s + 1) + " with betas (" + b1 + ", " + b2 + ")");
            }
            m0 = m;
            v0 = v;
        }
    }

    private static double largest(double[] x) {
        double l = Double.MIN_NORMAL;
        for (double e : x) l = Math.max(l, Math.abs(e));
        return l;
    }

    private static ParameterInfo info(String name, long... shape) {
        return new ParameterInfo(name, DType.F64, shape, true);
    }

    /** torch.optim.AdamW's single-tensor update, in place. */
    private static void adamw(double[] p, double[] g, double[] m, double[] v, int t, boolean decay) {
        double bc1 = 1 - Math.pow(B1, t), bc2 = 1 - Math.pow(B2, t);
        for (int i = 0; i < p.length; i++) {
            if (decay) p[i] *= 1 - LR * WD;
            m[i] = B1 * m[i] + (1 - B1) * g[i];
            v[i] = B2 * v[i] + (1 - B2) * g[i] * g[i];
            p[i] -= LR / bc1 * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + EPS);
        }
    }

    private static Map<String, double[]> values(Model model, boolean gradients) {
        Map<String, double[]> out = new HashMap<>();
        for (ParameterInfo p : model.parameters()) {
            if (gradients && !p.trainable()) continue;
            try (Tensor t = gradients ? model.gradient(p.name()) : model.parameter(p.name())) {
                out.put(p.name(), t.toDoubleArray());
            }
        }
        return out;
    }
}
