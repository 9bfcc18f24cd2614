package dev.mae4j;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A NaN or infinite loss skips the update, leaves the weights as they were, is counted, and too many in a row stop training. */
class NonFiniteTest {
    private static final MaeConfig CONFIG = MaeConfig.tiny();

    private static Tensor images(boolean poisoned) {
        double[] px = TestData.gaussian(2 * 128, 71);
        if (poisoned) px[5] = Double.NaN;
        return TestData.images(px, DType.F32, CONFIG, 2);
    }

    private static Map<String, float[]> weights(Model m) {
        Map<String, float[]> w = new HashMap<>();
        for (ParameterInfo p : m.parameters())
            try (Tensor t = m.parameter(p.name())) {
                w.put(p.name(), t.toFloatArray());
            }
        return w;
    }

    @Test
    void aNonFiniteStepLeavesTheWeightsAndIsCounted() {
        try (Model m = Model.create(CONFIG, Device.cpu(), 1);
             Trainer t = Trainer.builder(m).learningRate(1e-2).build();
             Masker masker = Masker.random(0.75, 1);
             Tensor good = images(false); Tensor bad = images(true)) {
            t.step(good, masker);
            Map<String, float[]> before = weights(m);
            assertTrue(Double.isNaN(t.step(bad, masker)), "the step reports its NaN loss");
            Map<String, float[]> after = weights(m);
            for (String name : before.keySet()) assertArrayEquals(before.get(name), after.get(name), name + " untouched");
            assertEquals(1, t.skippedUpdates());
            assertEquals(2, t.stepCount(), "the update count advances, so schedules and data positions stay in step");
            double loss = t.step(good, masker);
            assertTrue(Double.isFinite(loss), "training goes on after one bad batch");
            assertTrue(!java.util.Arrays.equals(before.get("norm.weight"), weights(m).get("norm.weight")), "finite steps update");
        }
    }

    @Test
    void tooManyInARowStopTraining() {
        try (Model m = Model.create(CONFIG, Device.cpu(), 1);
             Trainer t = Trainer.builder(m).learningRate(1e-2).maxConsecutiveNonFinite(3).build();
             Masker masker = Masker.random(0.75, 1);
             Tensor good = images(false); Tensor bad = images(true)) {
            t.step(bad, masker);
            t.step(bad, masker);
            t.step(good, masker);  // resets the run
            t.step(bad, masker);
            t.step(bad, masker);
            NonFiniteLossException e = assertThrows(NonFiniteLossException.class, () -> t.step(bad, masker));
            assertTrue(e.getMessage().contains("3 consecutive"), e.getMessage());
            assertEquals(5, t.skippedUpdates());
        }
    }

    @Test
    void accumulatedWindowsWithANonFiniteMicroBatchAreSkippedWhole() {
        try (Model m = Model.create(CONFIG, Device.cpu(), 1);
             Trainer t = Trainer.builder(m).learningRate(1e-2).accumulationSteps(2).build();
             Masker masker = Masker.random(0.75, 1);
             Tensor good = images(false); Tensor bad = images(true)) {
            Map<String, float[]> before = weights(m);
            t.step(good, masker);
            t.step(bad, masker);  // completes the window: skipped
            assertEquals(1, t.skippedUpdates());
            Map<String, float[]> after = weights(m);
            for (String name : before.keySet()) assertArrayEquals(before.get(name), after.get(name), name);
        }
    }

    @Test
    void fineTuningSkipsNonFiniteStepsToo() {
        try (Classifier c = Classifier.create(CONFIG, 3, 0.0, Device.cpu(), 1);
             FineTuner t = FineTuner.builder(c).maxConsecutiveNonFinite(2).build();
             Tensor bad = images(true); Tensor y = Tensor.fromLongs(new long[] {0, 1}, 2)) {
            float[] before;
            try (Tensor w = c.parameter("head.weight")) {
                before = w.toFloatArray();
            }
            assertTrue(Double.isNaN(t.step(bad, y)));
            try (Tensor w = c.parameter("head.weight")) {
                assertArrayEquals(before, w.toFloatArray());
            }
            assertEquals(1, t.skippedUpdates());
            assertThrows(NonFiniteLossException.class, () -> t.step(bad, y));
        }
    }
}
