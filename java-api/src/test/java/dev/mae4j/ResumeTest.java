package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Model, optimiser state, update count and masker state are enough to continue a run exactly. */
class ResumeTest {
    @TempDir
    Path dir;

    private static final MaeConfig CONFIG = MaeConfig.tiny();
    private static final LrSchedule SCHEDULE = LrSchedule.warmupCosine(1e-2, 1e-4, 2, 8);

    @Test
    void aResumedRunRepeatsTheUninterruptedOne() throws IOException {
        double[] uninterrupted = new double[6];
        try (Model model = Model.create(CONFIG, Device.cpu(), 2);
                Trainer t = Trainer.builder(model).schedule(SCHEDULE).build();
                Masker m = Masker.random(0.75, 9);
                Tensor images = images()) {
            for (int i = 0; i < 6; i++) uninterrupted[i] = t.step(images, m);
        }

        double[] resumed = new double[6];
        Path checkpoint = dir.resolve("train.safetensors");
        try (Model model = Model.create(CONFIG, Device.cpu(), 2);
                Trainer t = Trainer.builder(model).schedule(SCHEDULE).build();
                Masker m = Masker.random(0.75, 9);
                Tensor images = images()) {
            for (int i = 0; i < 3; i++) resumed[i] = t.step(images, m);
            t.saveCheckpoint(checkpoint, m, Map.of("epoch", "0", "position", "3"));
        }
        // a fresh process would start from other weights and another mask seed: the checkpoint replaces both
        try (Model model = Model.create(CONFIG, Device.cpu(), 77);
                Trainer t = Trainer.builder(model).schedule(SCHEDULE).build();
                Masker m = Masker.random(0.75, 12345);
                Tensor images = images()) {
            assertEquals(Map.of("epoch", "0", "position", "3"), t.loadCheckpoint(checkpoint, m));
            assertEquals(3, t.stepCount());
            for (int i = 3; i < 6; i++) resumed[i] = t.step(images, m);
        }
        assertArrayEquals(uninterrupted, resumed, 0.0);
    }

    @Test
    void checkpointsAreRefusedWhereTheyCannotResume() throws IOException {
        Path weightsOnly = dir.resolve("w.safetensors");
        try (Model model = Model.create(CONFIG, Device.cpu(), 2);
                Trainer t = Trainer.builder(model).accumulationSteps(2).build();
                Masker m = Masker.random(0.75, 9);
                Tensor images = images()) {
            model.save(weightsOnly);
            CheckpointException e = assertThrows(CheckpointException.class, () -> t.loadCheckpoint(weightsOnly, m));
            org.junit.jupiter.api.Assertions.assertTrue(
                    e.getMessage().contains("not a training checkpoint"), e.getMessage());
            t.step(images, m); // half an accumulation window
            TestData.assertRefused(
                    IllegalStateException.class,
                    "1 micro-batches are accumulated: checkpoint after the update",
                    () -> t.saveCheckpoint(dir.resolve("x"), m, Map.of()));
        }
        Path deeper = dir.resolve("deeper.safetensors");
        MaeConfig other = CONFIG.toBuilder().depth(3).build();
        try (Model model = Model.create(other, Device.cpu(), 2);
                Trainer t = Trainer.builder(model).build();
                Masker m = Masker.random(0.75, 9)) {
            t.saveCheckpoint(deeper, m, Map.of());
        }
        try (Model model = Model.create(CONFIG, Device.cpu(), 2);
                Trainer t = Trainer.builder(model).build();
                Masker m = Masker.random(0.75, 9)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> t.loadCheckpoint(deeper, m));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("do not match"), e.getMessage());
        }
    }

    @Test
    void stateNamesShapesAndErrors() {
        try (Model model = Model.create(CONFIG, Device.cpu(), 2);
                Trainer t = Trainer.builder(model).build();
                Tensor noise = Tensor.fromDoubles(new double[16], 1, 16);
                Masker fixed = Masker.fromNoise(noise, 0.5)) {
            List<String> names = t.optimizerStateNames();
            long trained =
                    model.parameters().stream().filter(ParameterInfo::trainable).count();
            assertEquals(2 * trained + 1, names.size(), "two moments per trained parameter, then AdamW's step");
            assertEquals("exp_avg.cls_token", names.get(0));
            assertEquals("step", names.getLast());
            try (Tensor s = t.optimizerState("exp_avg_sq.blocks.1.attn.qkv.weight")) {
                assertArrayEquals(new long[] {24, 8}, s.shape());
                assertEquals(
                        0.0, Arrays.stream(s.toDoubleArray()).map(Math::abs).sum(), 0.0);
            }
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "no optimiser state named 'exp_avg.pos_embed'",
                    () -> t.optimizerState("exp_avg.pos_embed"));
            try (Tensor wrong = Tensor.zeros(DType.F32, 3)) {
                TestData.assertRefused(
                        IllegalArgumentException.class,
                        "optimiser state 'exp_avg.cls_token' has shape [1, 1, 8], got [3]",
                        () -> t.setOptimizerState("exp_avg.cls_token", wrong));
            }
            TestData.assertRefused(
                    IllegalArgumentException.class, "step count must be >= 0, got -1", () -> t.setStepCount(-1));
            TestData.assertRefused(
                    IllegalStateException.class, "a masker from fixed noise has no generator state", fixed::state);
        }
        try (Masker m = Masker.random(0.5, 1)) {
            TestData.assertRefused(
                    IllegalArgumentException.class, "masker state must be U8", () -> m.restoreState(new byte[3]));
        }
    }

    private static Tensor images() {
        return Tensor.fromFloats(TestData.toFloats(TestData.gaussian(4 * 128, 61)), 4, 2, 8, 8);
    }
}
