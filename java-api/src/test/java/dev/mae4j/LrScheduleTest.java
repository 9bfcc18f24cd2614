package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The reference's warm-up plus half-cycle cosine, at steps worked out by hand. */
class LrScheduleTest {
    @Test
    void warmupThenCosine() {
        LrSchedule s = LrSchedule.warmupCosine(1e-3, 1e-6, 10, 110);
        assertEquals(0.0, s.lr(0), 0.0); // the reference's first update has lr 0
        assertEquals(5e-4, s.lr(5), 1e-18); // halfway through the warm-up
        assertEquals(1e-3, s.lr(10), 1e-18); // the peak
        assertEquals(1e-6 + (1e-3 - 1e-6) * 0.5, s.lr(60), 1e-18); // half the cosine: cos(π/2) = 0
        assertEquals(1e-6 + (1e-3 - 1e-6) * 0.5 * (1 + Math.cos(Math.PI / 4)), s.lr(35), 1e-18);
        assertEquals(1e-6, s.lr(110), 1e-18); // the end
        assertEquals(1e-6, s.lr(500), 1e-18); // and after it
    }

    @Test
    void scalingRuleAndBadArguments() {
        assertEquals(1.5e-4 * 16, LrSchedule.scaledLr(1.5e-4, 4096), 1e-18);
        assertEquals(0.25, LrSchedule.constant(0.25).lr(12345), 0.0);
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.warmupCosine(1e-3, 1e-6, 10, 10));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.warmupCosine(1e-3, 1e-2, 0, 10));
    }

    @Test
    void theTrainerAsksTheScheduleForEveryUpdate() {
        MaeConfig c = MaeConfig.tiny().toBuilder().precision(DType.F64).build();
        LrSchedule cosine = LrSchedule.warmupCosine(1e-2, 0, 1, 100); // lr 0, then 1e-2, then a little less
        LrSchedule stepwise = u -> u == 0 ? 0 : 1e-2;
        try (Tensor images = Tensor.fromDoubles(TestData.gaussian(2 * 128, 1), 2, 2, 8, 8)) {
            double[] initial = weights(c, cosine, images, 0);
            org.junit.jupiter.api.Assertions.assertArrayEquals(
                    initial, weights(c, cosine, images, 1), 0.0, "an update at lr 0 changes nothing");
            org.junit.jupiter.api.Assertions.assertArrayEquals(
                    weights(c, stepwise, images, 2), weights(c, cosine, images, 2), 0.0);
            org.junit.jupiter.api.Assertions.assertFalse(
                    java.util.Arrays.equals(weights(c, stepwise, images, 3), weights(c, cosine, images, 3)),
                    "the third update's rate differs");
        }
    }

    private static double[] weights(MaeConfig c, LrSchedule s, Tensor images, int steps) {
        try (Model model = Model.create(c, Device.cpu(), 0);
                Trainer t = Trainer.builder(model).schedule(s).build();
                Masker m = Masker.random(0.75, 3)) {
            for (int i = 0; i < steps; i++) t.step(images, m);
            assertEquals(s.lr(steps), t.learningRate(), 0.0);
            try (Tensor w = model.parameter("blocks.0.attn.qkv.weight")) {
                return w.toDoubleArray();
            }
        }
    }
}
