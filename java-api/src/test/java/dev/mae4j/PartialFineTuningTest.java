package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Partial fine-tuning (the paper's third protocol): the last K blocks, fc_norm and the head train; everything below
 * stays exactly as it was and gets no gradient; the trained part's gradients are a full backward's (up to rounding);
 * K = depth is the full fine-tuning.
 */
class PartialFineTuningTest {
    private static final MaeConfig CONFIG = MaeConfig.tiny(); // depth 2
    private static final long[] LABELS = {0, 2, 1, 2};

    private static Tensor images() {
        return TestData.images(TestData.gaussian(4 * 128, 77), DType.F32, CONFIG, 4);
    }

    /** Whether {@code name} is in the first depth − k blocks or below them (the frozen part for k). */
    private static boolean frozen(String name, int k) {
        if (name.equals("cls_token") || name.equals("pos_embed") || name.startsWith("patch_embed")) return true;
        if (!name.startsWith("blocks.")) return false;
        int block = Integer.parseInt(name.substring(7, name.indexOf('.', 7)));
        return block < CONFIG.depth() - k;
    }

    private static Map<String, float[]> weights(Classifier c) {
        Map<String, float[]> w = new LinkedHashMap<>();
        for (ParameterInfo p : c.parameters())
            try (Tensor t = c.parameter(p.name())) {
                w.put(p.name(), t.toFloatArray());
            }
        return w;
    }

    private static Map<String, float[]> trained(int k, int steps) {
        try (Classifier c = Classifier.create(CONFIG, 3, 0.1, TestData.device(), 5);
                FineTuner t = FineTuner.builder(c)
                        .learningRate(1e-2)
                        .trainableBlocks(k)
                        .stepThreads(1)
                        .build();
                Tensor x = images();
                Tensor y = Tensor.fromLongs(LABELS, 4)) {
            for (int s = 0; s < steps; s++) t.step(x, y);
            return weights(c);
        }
    }

    @Test
    void theFrozenPartStaysBitIdenticalAndTheRestTrains() {
        Map<String, float[]> before = trained(1, 0), after = trained(1, 3);
        int frozenCount = 0;
        for (String name : before.keySet()) {
            if (frozen(name, 1)) {
                frozenCount++;
                assertArrayEquals(before.get(name), after.get(name), name + " is frozen");
            } else {
                assertFalse(java.util.Arrays.equals(before.get(name), after.get(name)), name + " trains");
            }
        }
        assertTrue(frozenCount > 4, "patch embedding, tables and block 0 are frozen: " + frozenCount);
        try (Classifier c = Classifier.create(CONFIG, 3, 0.1, TestData.device(), 5);
                FineTuner t = FineTuner.builder(c).trainableBlocks(1).build()) {
            assertEquals(1, t.trainableBlocks());
            for (ParameterInfo p : c.parameters())
                assertEquals(!frozen(p.name(), 1), p.trainable(), p.name() + " as the library lists it");
        }
    }

    @Test
    void theTrainedPartsGradientsAreAFullBackwardsAndTheFrozenGetNone() {
        Map<String, float[]> full = new LinkedHashMap<>(), partial = new LinkedHashMap<>();
        // no stochastic depth: the two backward passes see the same network
        try (Classifier a = Classifier.create(CONFIG, 3, 0.0, TestData.device(), 6);
                Classifier b = Classifier.create(CONFIG, 3, 0.0, TestData.device(), 6);
                FineTuner ta = FineTuner.builder(a).build();
                FineTuner tb = FineTuner.builder(b).trainableBlocks(1).build();
                Tensor x = images();
                Tensor y = Tensor.fromLongs(LABELS, 4)) {
            assertEquals(a.lossBackward(x, y, 0.1), b.lossBackward(x, y, 0.1), "the same loss");
            for (ParameterInfo p : a.parameters()) {
                try (Tensor g = a.gradient(p.name())) {
                    full.put(p.name(), g.toFloatArray());
                }
                if (frozen(p.name(), 1)) {
                    TestData.assertRefused(
                            IllegalArgumentException.class, "is not trained", () -> b.gradient(p.name()));
                } else {
                    try (Tensor g = b.gradient(p.name())) {
                        partial.put(p.name(), g.toFloatArray());
                    }
                }
            }
        }
        assertEquals(12 + 2 + 2, partial.size(), "block 1 (12 tensors), fc_norm and head: " + partial.keySet());
        // Equal up to rounding, not bit for bit: the frozen block runs with nothing recorded, so its GELU and residual
        // additions may fuse into oneDNN's products (products.h), while the full backward's block 0 runs unfused.
        for (String name : partial.keySet()) {
            float[] f = full.get(name), p = partial.get(name);
            double scale = 0, err = 0;
            for (int i = 0; i < f.length; i++) {
                scale = Math.max(scale, Math.abs(f[i]));
                err = Math.max(err, Math.abs(f[i] - p[i]));
            }
            assertTrue(scale > 0 && err <= 1e-4 * scale, name + ": max difference " + err + " of a largest " + scale);
        }
    }

    @Test
    void allTheBlocksIsTheFullFineTuningBitForBit() {
        Map<String, float[]> all = trained(CONFIG.depth(), 3);
        Map<String, float[]> byDefault;
        try (Classifier c = Classifier.create(CONFIG, 3, 0.1, TestData.device(), 5);
                FineTuner t =
                        FineTuner.builder(c).learningRate(1e-2).stepThreads(1).build();
                Tensor x = images();
                Tensor y = Tensor.fromLongs(LABELS, 4)) {
            assertEquals(CONFIG.depth(), t.trainableBlocks(), "the default trains every block");
            for (int s = 0; s < 3; s++) t.step(x, y);
            byDefault = weights(c);
        }
        for (String name : all.keySet()) assertArrayEquals(byDefault.get(name), all.get(name), name);
    }

    @Test
    void checkpointsRecordTheBlocksAndRefuseAnotherCount(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("checkpoint.safetensors");
        try (Classifier c = Classifier.create(CONFIG, 3, 0.1, TestData.device(), 5);
                FineTuner t = FineTuner.builder(c).trainableBlocks(1).build();
                Tensor x = images();
                Tensor y = Tensor.fromLongs(LABELS, 4)) {
            t.step(x, y);
            t.saveCheckpoint(file, Map.of("epoch", "1"));
        }
        try (Classifier c = Classifier.create(CONFIG, 3, 0.1, TestData.device(), 9);
                FineTuner same = FineTuner.builder(c).trainableBlocks(1).build()) {
            assertEquals(Map.of("epoch", "1"), same.loadCheckpoint(file), "the caller's progress, as saved");
            assertEquals(1, same.stepCount());
        }
        try (Classifier c = Classifier.create(CONFIG, 3, 0.1, TestData.device(), 9);
                FineTuner other = FineTuner.builder(c).build()) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> other.loadCheckpoint(file));
            assertTrue(e.getMessage().contains("training 1 blocks; this one trains 2"), e.getMessage());
        }
    }

    @Test
    void countsOutsideZeroToTheDepthAreRefused() {
        try (Classifier c = Classifier.create(CONFIG, 3, 0.1, TestData.device(), 5)) {
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "trainableBlocks must be in [0, 2], got -1",
                    () -> FineTuner.builder(c).trainableBlocks(-1).build());
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "trainableBlocks must be in [0, 2], got 3",
                    () -> FineTuner.builder(c).trainableBlocks(3).build());
        }
    }
}
