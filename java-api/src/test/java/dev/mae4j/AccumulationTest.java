package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Gradient accumulation over micro-batches equals one step on the whole batch. */
class AccumulationTest {
    private static final MaeConfig CONFIG =
            MaeConfig.tiny().toBuilder().precision(DType.F64).normPixLoss(true).build();

    @Test
    void twoHalfBatchesGiveTheFullBatchGradientAndUpdate() {
        int n = 4, L = CONFIG.numPatches(), img = 2 * 8 * 8;
        double[] pixels = TestData.gaussian(n * img, 51), noise = TestData.uniform(n * L, 52);
        try (Model whole = Model.create(CONFIG, Device.cpu(), 6);
                Model parts = Model.create(CONFIG, Device.cpu(), 6);
                Trainer full = Trainer.builder(whole).learningRate(1e-2).build();
                Trainer accumulated = Trainer.builder(parts)
                        .learningRate(1e-2)
                        .accumulationSteps(2)
                        .build();
                Tensor all = Tensor.fromDoubles(pixels, n, 2, 8, 8);
                Tensor allNoise = Tensor.fromDoubles(noise, n, L);
                Masker allMasker = Masker.fromNoise(allNoise, 0.75);
                Tensor first = Tensor.fromDoubles(Arrays.copyOfRange(pixels, 0, 2 * img), 2, 2, 8, 8);
                Tensor second = Tensor.fromDoubles(Arrays.copyOfRange(pixels, 2 * img, 4 * img), 2, 2, 8, 8);
                Tensor firstNoise = Tensor.fromDoubles(Arrays.copyOfRange(noise, 0, 2 * L), 2, L);
                Tensor secondNoise = Tensor.fromDoubles(Arrays.copyOfRange(noise, 2 * L, 4 * L), 2, L);
                Masker firstMasker = Masker.fromNoise(firstNoise, 0.75);
                Masker secondMasker = Masker.fromNoise(secondNoise, 0.75)) {
            double fullLoss;
            try (ForwardResult r = whole.forwardBackward(all, allMasker)) {
                fullLoss = r.loss();
            }
            // every image removes the same number of patches, so the batch loss is the mean of the halves'
            double l1 = accumulated.accumulate(first, firstMasker);
            double l2 = accumulated.accumulate(second, secondMasker);
            assertEquals(fullLoss, (l1 + l2) / 2, 1e-12);
            for (ParameterInfo p : whole.parameters()) {
                if (!p.trainable()) continue;
                try (Tensor g = whole.gradient(p.name());
                        Tensor a = parts.gradient(p.name())) {
                    TestData.assertClose(g.toDoubleArray(), a.toDoubleArray(), 1e-12, "gradient of " + p.name());
                    if (p.name().endsWith("attn.qkv.bias")) {
                        double[] gk = g.toDoubleArray();
                        int dim = gk.length / 3;
                        for (int i = dim; i < 2 * dim; i++)
                            assertTrue(Math.abs(gk[i]) < 1e-14, p.name() + " key bias gradient " + gk[i] + " is not 0");
                    }
                }
            }
            accumulated.applyUpdate();
            full.step(all, allMasker);
            assertEquals(1, accumulated.stepCount());
            for (ParameterInfo p : whole.parameters()) {
                try (Tensor a = whole.parameter(p.name());
                        Tensor b = parts.parameter(p.name())) {
                    double[] x = a.toDoubleArray(), y = b.toDoubleArray();
                    if (p.name().endsWith("attn.qkv.bias")) {
                        // The key bias's exact gradient is 0 (softmax ignores a shift shared by all keys), so its
                        // gradient is rounding noise g ~ 1e-17 and AdamW's first step moves it by lr·g/(|g|+eps):
                        // the two summation orders differ there by up to lr·|Δg|/eps ~ 1e-10. The other entries
                        // are held to 1e-12.
                        int dim = x.length / 3;
                        TestData.assertClose(
                                Arrays.copyOfRange(x, dim, 2 * dim),
                                Arrays.copyOfRange(y, dim, 2 * dim),
                                1e-9,
                                "updated key bias of " + p.name());
                        Arrays.fill(x, dim, 2 * dim, 0);
                        Arrays.fill(y, dim, 2 * dim, 0);
                    }
                    TestData.assertClose(x, y, 1e-12, "updated " + p.name());
                }
            }
        }
    }

    @Test
    void stepAppliesEveryKthCall() {
        try (Model model = Model.create(CONFIG, Device.cpu(), 6);
                Trainer t = Trainer.builder(model).accumulationSteps(3).build();
                Tensor images = Tensor.fromDoubles(TestData.gaussian(128, 1), 1, 2, 8, 8);
                Masker m = Masker.random(0.75, 0)) {
            for (int call = 1; call <= 7; call++) {
                t.step(images, m);
                assertEquals(call / 3, t.stepCount(), "updates after " + call + " calls");
                assertEquals(call % 3, t.pendingMicroBatches());
            }
        }
    }
}
