package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mae4j.bindings.Mae;
import dev.mae4j.bindings.mae_tensor_view;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A NaN or infinite loss skips the update, leaves the weights as they were, is counted, and too many in a row stop
 * training. Step threads 1 and 2 take libmae's two paths: the whole step queued and read back once (the CUDA path,
 * the device skipping the fused update), and the batch split over threads, the device deciding the update alike.
 */
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

    @ParameterizedTest(name = "step threads {0}")
    @ValueSource(ints = {1, 2})
    void aNonFiniteStepLeavesTheWeightsAndIsCounted(int stepThreads) {
        try (Model m = Model.create(CONFIG, TestData.device(), 1);
                Trainer t = Trainer.builder(m)
                        .learningRate(1e-2)
                        .stepThreads(stepThreads)
                        .build();
                Masker masker = Masker.random(0.75, 1);
                Tensor good = images(false);
                Tensor bad = images(true)) {
            t.step(good, masker);
            Map<String, float[]> before = weights(m), stateBefore = state(t);
            assertTrue(Double.isNaN(t.step(bad, masker)), "the step reports its NaN loss");
            int shards = TestData.device().type() == Device.Type.CPU ? stepThreads : 1; // CUDA steps are not split
            assertEquals(shards, t.lastStepShards(), "the poisoned batch of 2 ran in this many shards");
            Map<String, float[]> after = weights(m), stateAfter = state(t);
            for (String name : before.keySet())
                assertArrayEquals(before.get(name), after.get(name), name + " untouched");
            for (String name : stateBefore.keySet())
                assertArrayEquals(stateBefore.get(name), stateAfter.get(name), "AdamW's " + name + " untouched");
            assertArrayEquals(new float[] {1}, stateAfter.get("step"), "AdamW counts the one update it applied");
            assertEquals(1, t.skippedUpdates());
            assertEquals(2, t.stepCount(), "the update count advances, so schedules and data positions stay in step");
            double loss = t.step(good, masker);
            assertTrue(Double.isFinite(loss), "training goes on after one bad batch");
            Map<String, float[]> next = weights(m);
            assertTrue(
                    !java.util.Arrays.equals(before.get("norm.weight"), next.get("norm.weight")),
                    "finite steps update");
            for (var e : next.entrySet())
                for (float x : e.getValue()) assertTrue(Float.isFinite(x), e.getKey() + " stays finite");
        }
    }

    /**
     * A skipped update is as if the bad batch had never come: good, bad, good trains to exactly the weights of good,
     * good (AdamW's bias correction counts applied updates, as torch's optimizer.step() skipped by GradScaler).
     */
    @ParameterizedTest(name = "step threads {0}")
    @ValueSource(ints = {1, 2})
    void aSkippedUpdateLeavesNoTraceInLaterOnes(int stepThreads) {
        Map<String, float[]> withSkip, without;
        try (Model m = Model.create(CONFIG, TestData.device(), 1);
                Trainer t = Trainer.builder(m)
                        .learningRate(1e-2)
                        .stepThreads(stepThreads)
                        .build();
                Tensor good = images(false);
                Tensor bad = images(true);
                Tensor noise = Tensor.fromDoubles(TestData.uniform(2 * 16, 5), 2, 16);
                Masker masker = Masker.fromNoise(noise, 0.75)) {
            t.step(good, masker);
            t.step(bad, masker);
            t.step(good, masker);
            withSkip = weights(m);
        }
        try (Model m = Model.create(CONFIG, TestData.device(), 1);
                Trainer t = Trainer.builder(m)
                        .learningRate(1e-2)
                        .stepThreads(stepThreads)
                        .build();
                Tensor good = images(false);
                Tensor noise = Tensor.fromDoubles(TestData.uniform(2 * 16, 5), 2, 16);
                Masker masker = Masker.fromNoise(noise, 0.75)) {
            t.step(good, masker);
            t.step(good, masker);
            without = weights(m);
        }
        for (String name : without.keySet()) assertArrayEquals(without.get(name), withSkip.get(name), name);
    }

    private static Map<String, float[]> state(Trainer t) {
        Map<String, float[]> s = new HashMap<>();
        for (String name : t.optimizerStateNames())
            try (Tensor x = t.optimizerState(name)) {
                s.put(name, x.toFloatArray());
            }
        return s;
    }

    @ParameterizedTest(name = "{0}, step threads {1}")
    @CsvSource({"F32, 1", "F32, 2", "F64, 1", "F64, 2"})
    void aFiniteLossWithNonFiniteGradientsSkipsTheUpdateToo(DType precision, int stepThreads) {
        // Gradients overflow while the loss stays finite: a loss scale near the type's largest value, through the
        // C ABI (the Java API scales only by 1/accumulation steps), so the gradient scan alone must catch it.
        MaeConfig c = CONFIG.toBuilder().precision(precision).build();
        double scale = precision == DType.F32 ? 3e38 : 1.7e308;
        try (Model m = Model.create(c, TestData.device(), 1);
                Trainer t = Trainer.builder(m)
                        .learningRate(1e-2)
                        .stepThreads(stepThreads)
                        .build();
                Masker masker = Masker.random(0.75, 1);
                Tensor good = TestData.images(TestData.gaussian(2 * 128, 71), precision, c, 2);
                Arena arena = Arena.ofConfined()) {
            Map<String, float[]> before = weights(m);
            MemorySegment view = mae_tensor_view.allocate(arena), out = arena.allocate(ValueLayout.JAVA_DOUBLE);
            good.writeView(view);
            assertEquals(
                    0,
                    Mae.mae_trainer_accumulate(
                            t.handle(), view, masker.handle(), scale, Mae.MAE_ACCUMULATE_LAST(), out));
            assertTrue(Double.isFinite(out.get(ValueLayout.JAVA_DOUBLE, 0)), "the loss itself is finite");
            boolean overflowed = false;
            for (ParameterInfo p : m.parameters())
                if (p.trainable())
                    try (Tensor g = m.gradient(p.name())) {
                        for (double x : g.toDoubleArray()) overflowed |= !Double.isFinite(x);
                    }
            assertTrue(overflowed, "some gradient overflowed");
            assertEquals(0, Mae.mae_trainer_apply(t.handle()));
            MemorySegment training = arena.allocate(ValueLayout.ADDRESS);
            assertEquals(0, Mae.mae_trainer_training(t.handle(), training));
            MemorySegment skipped = arena.allocate(ValueLayout.JAVA_LONG);
            assertEquals(0, Mae.mae_training_skipped_count(training.get(ValueLayout.ADDRESS, 0), skipped));
            assertEquals(1, skipped.get(ValueLayout.JAVA_LONG, 0), "the update was skipped");
            Map<String, float[]> after = weights(m);
            for (String name : before.keySet())
                assertArrayEquals(before.get(name), after.get(name), name + " untouched");
        }
    }

    @Test
    void tooManyInARowStopTraining() {
        try (Model m = Model.create(CONFIG, TestData.device(), 1);
                Trainer t = Trainer.builder(m)
                        .learningRate(1e-2)
                        .maxConsecutiveNonFinite(3)
                        .build();
                Masker masker = Masker.random(0.75, 1);
                Tensor good = images(false);
                Tensor bad = images(true)) {
            t.step(bad, masker);
            t.step(bad, masker);
            t.step(good, masker); // resets the run
            t.step(bad, masker);
            t.step(bad, masker);
            NonFiniteLossException e = assertThrows(NonFiniteLossException.class, () -> t.step(bad, masker));
            assertTrue(e.getMessage().contains("3 consecutive"), e.getMessage());
            assertEquals(5, t.skippedUpdates());
        }
    }

    @Test
    void accumulatedWindowsWithANonFiniteMicroBatchAreSkippedWhole() {
        try (Model m = Model.create(CONFIG, TestData.device(), 1);
                Trainer t = Trainer.builder(m)
                        .learningRate(1e-2)
                        .accumulationSteps(2)
                        .build();
                Masker masker = Masker.random(0.75, 1);
                Tensor good = images(false);
                Tensor bad = images(true)) {
            Map<String, float[]> before = weights(m);
            t.step(good, masker);
            t.step(bad, masker); // completes the window: skipped
            assertEquals(1, t.skippedUpdates());
            Map<String, float[]> after = weights(m);
            for (String name : before.keySet()) assertArrayEquals(before.get(name), after.get(name), name);
        }
    }

    @Test
    void fineTuningSkipsNonFiniteStepsToo() {
        try (Classifier c = Classifier.create(CONFIG, 3, 0.0, TestData.device(), 1);
                FineTuner t = FineTuner.builder(c).maxConsecutiveNonFinite(2).build();
                Tensor bad = images(true);
                Tensor y = Tensor.fromLongs(new long[] {0, 1}, 2)) {
            float[] before;
            try (Tensor w = c.parameter("head.weight")) {
                before = w.toFloatArray();
            }
            float[] avgBefore;
            try (Tensor s = t.optimizerState("exp_avg_sq.head.weight")) {
                avgBefore = s.toFloatArray();
            }
            assertTrue(Double.isNaN(t.step(bad, y)));
            try (Tensor w = c.parameter("head.weight");
                    Tensor s = t.optimizerState("exp_avg_sq.head.weight");
                    Tensor applied = t.optimizerState("step")) {
                assertArrayEquals(before, w.toFloatArray());
                assertArrayEquals(avgBefore, s.toFloatArray(), "AdamW's moments untouched");
                assertArrayEquals(new double[] {0}, applied.toDoubleArray(), "no update applied");
            }
            assertEquals(1, t.skippedUpdates());
            assertThrows(NonFiniteLossException.class, () -> t.step(bad, y));
        }
    }
}
