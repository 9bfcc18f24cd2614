package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Batches split over step threads train as the whole batch on one thread (F64, to rounding), with the masks and
 * stochastic depth of the unsplit batch, reproducibly, alone and data-parallel.
 */
class StepThreadsTest {
    private static final MaeConfig CONFIG = DistributedTest.CONFIG; // tiny, F64, norm_pix_loss
    private static final int IMG = 2 * 8 * 8, STEPS = 3;

    /** Trains STEPS updates of n images (accumulation micro-batches each) and returns the weights, then the losses. */
    private static Object[] pretrain(int stepThreads, int n, int accumulation) {
        int L = CONFIG.numPatches(), micro = n / accumulation;
        double[] losses = new double[STEPS * accumulation];
        try (Model model = Model.create(CONFIG, Device.cpu(), 3);
                Trainer t = Trainer.builder(model)
                        .schedule(LrSchedule.warmupCosine(1e-2, 1e-4, 1, STEPS))
                        .accumulationSteps(accumulation)
                        .stepThreads(stepThreads)
                        .build()) {
            assertEquals(0, t.lastStepShards(), "no step yet");
            for (int s = 0; s < STEPS; s++) {
                double[] pixels = TestData.gaussian(n * IMG, 100 + s), noise = TestData.uniform(n * L, 200 + s);
                for (int k = 0; k < accumulation; k++)
                    try (Tensor images = Tensor.fromDoubles(
                                    Arrays.copyOfRange(pixels, k * micro * IMG, (k + 1) * micro * IMG),
                                    micro,
                                    2,
                                    8,
                                    8);
                            Tensor z = Tensor.fromDoubles(
                                    Arrays.copyOfRange(noise, k * micro * L, (k + 1) * micro * L), micro, L);
                            Masker m = Masker.fromNoise(z, 0.75)) {
                        losses[s * accumulation + k] = t.step(images, m);
                        // what the library did, not what was asked: one shard per thread, at most one per image
                        assertEquals(Math.min(stepThreads, micro), t.lastStepShards(), "shards of the last step");
                    }
            }
            return new Object[] {DistributedTest.parameters(model), losses};
        }
    }

    @SuppressWarnings("unchecked")
    private static void assertSameTraining(Object[] expected, Object[] actual, String what) {
        Map<String, double[]> want = (Map<String, double[]>) expected[0], got = (Map<String, double[]>) actual[0];
        assertEquals(want.keySet(), got.keySet());
        for (String name : want.keySet())
            TestData.assertClose(want.get(name), got.get(name), 1e-10, name + ", " + what);
        TestData.assertClose((double[]) expected[1], (double[]) actual[1], 1e-12, "losses, " + what);
    }

    @ParameterizedTest(name = "{0} threads, batch {1}, accumulation {2}")
    @CsvSource({"2, 8, 1", "3, 7, 1", "2, 8, 2", "4, 3, 1"}) // the last: more threads than images
    void splitPretrainingStepsTrainAsOneThread(int threads, int n, int accumulation) {
        Object[] split = pretrain(threads, n, accumulation);
        assertSameTraining(pretrain(1, n, accumulation), split, threads + " step threads");
        // Summed in shard order, whatever thread finishes first: the same bits every time.
        Object[] again = pretrain(threads, n, accumulation);
        @SuppressWarnings("unchecked")
        Map<String, double[]> a = (Map<String, double[]>) split[0], b = (Map<String, double[]>) again[0];
        for (String name : a.keySet())
            assertArrayEquals(a.get(name), b.get(name), name + " differs between two split runs");
    }

    private static Object[] finetune(int stepThreads) {
        int n = 9;
        double[] losses = new double[STEPS];
        // stochastic depth on: the split batch must drop the same residual branches as the whole one
        try (Classifier c = Classifier.create(CONFIG, 4, 0.5, Device.cpu(), 11);
                FineTuner t = FineTuner.builder(c)
                        .schedule(LrSchedule.warmupCosine(1e-2, 1e-4, 1, STEPS))
                        .stepThreads(stepThreads)
                        .build()) {
            for (int s = 0; s < STEPS; s++) {
                long[] labels = new long[n];
                for (int i = 0; i < n; i++) labels[i] = (i * 7 + s) % 4;
                try (Tensor images = Tensor.fromDoubles(TestData.gaussian(n * IMG, 300 + s), n, 2, 8, 8);
                        Tensor y = Tensor.fromLongs(labels, n)) {
                    losses[s] = t.step(images, y);
                }
                assertEquals(Math.min(stepThreads, n), t.lastStepShards(), "shards of the last fine-tuning step");
            }
            return new Object[] {DistributedTest.parameters(c), losses};
        }
    }

    @Test
    void splitFineTuningStepsTrainAsOneThreadWithTheSameStochasticDepth() {
        Object[] one = finetune(1);
        assertSameTraining(one, finetune(2), "2 step threads");
        assertSameTraining(one, finetune(3), "3 step threads");
    }

    @Test
    void dataParallelRanksWithStepThreadsTrainAsOneProcess() throws Exception {
        int n = 8, L = CONFIG.numPatches();
        Object[] single = pretrain(1, n, 1);
        int port = DistributedTest.freePort();
        List<Map<String, double[]>> ranks = DistributedTest.onRanks(2, rank -> {
            try (ProcessGroup g = ProcessGroup.join(ProcessGroup.Options.of("127.0.0.1", port, rank, 2));
                    Model model = Model.create(CONFIG, Device.cpu(), 3);
                    Trainer t = Trainer.builder(model)
                            .schedule(LrSchedule.warmupCosine(1e-2, 1e-4, 1, STEPS))
                            .processGroup(g)
                            .stepThreads(2)
                            .build()) {
                for (int s = 0; s < STEPS; s++) {
                    double[] pixels = TestData.gaussian(n * IMG, 100 + s), noise = TestData.uniform(n * L, 200 + s);
                    int from = rank * n / 2, to = from + n / 2;
                    try (Tensor images = Tensor.fromDoubles(
                                    Arrays.copyOfRange(pixels, from * IMG, to * IMG), n / 2, 2, 8, 8);
                            Tensor z = Tensor.fromDoubles(Arrays.copyOfRange(noise, from * L, to * L), n / 2, L);
                            Masker m = Masker.fromNoise(z, 0.75)) {
                        t.step(images, m);
                    }
                }
                return DistributedTest.parameters(model);
            }
        });
        @SuppressWarnings("unchecked")
        Map<String, double[]> want = (Map<String, double[]>) single[0];
        for (String name : want.keySet()) {
            TestData.assertClose(want.get(name), ranks.get(0).get(name), 1e-10, name + " of rank 0 vs one process");
            assertArrayEquals(ranks.get(0).get(name), ranks.get(1).get(name), name + " differs between the ranks");
        }
    }

    @Test
    void stepThreadCountsOutOfRangeAreRefused() {
        try (Model model = Model.create(CONFIG, Device.cpu(), 3)) {
            for (int bad : new int[] {0, -1, 1025}) {
                var e = assertThrows(
                        IllegalArgumentException.class,
                        () -> Trainer.builder(model).stepThreads(bad).build());
                assertTrue(e.getMessage().contains("stepThreads"), e.getMessage());
            }
            try (Classifier c = Classifier.create(CONFIG, 4, 0.0, Device.cpu(), 1)) {
                assertThrows(
                        IllegalArgumentException.class,
                        () -> FineTuner.builder(c).stepThreads(0).build());
            }
        }
    }
}
