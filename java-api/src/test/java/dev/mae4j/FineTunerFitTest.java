package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** FineTuner.fit: the loop Trainer.fit runs, with each batch's labels, an evaluation hook and checkpoints. */
class FineTunerFitTest {
    /** Twelve 2×8×8 images whose first pixel tells their label (index mod 3), so a step can check its labels. */
    private static final LabelledDataset TWELVE = new LabelledDataset() {
        public int size() {
            return 12;
        }

        public int channels() {
            return 2;
        }

        public int height() {
            return 8;
        }

        public int width() {
            return 8;
        }

        public int label(int index) {
            return index % 3;
        }

        public int classCount() {
            return 3;
        }

        public void copyNormalised(int index, float[] dst, int offset) {
            for (int i = 0; i < 128; i++) dst[offset + i] = (float) Math.cos(index * 31 + i);
            dst[offset] = label(index);
        }
    };

    private static Classifier classifier() {
        try (Model encoder = Model.create(MaeConfig.tiny(), Device.cpu(), 0)) {
            return Classifier.fromEncoder(encoder, 3, 0.0, 1);
        }
    }

    private static FineTuner tuner(Classifier c) {
        return FineTuner.builder(c)
                .schedule(LrSchedule.warmupCosine(1e-2, 0, 1, 5))
                .stepThreads(1)
                .build();
    }

    @Test
    void eachBatchComesWithItsOwnImagesLabels() throws Exception {
        List<Long> checked = new ArrayList<>();
        try (Classifier c = classifier();
                FineTuner t = tuner(c)) {
            long taken = t.fit(
                    TWELVE,
                    Fit.of(4, 3, 5),
                    (tuner, index, images, labels) -> {
                        float[] px = images.toFloatArray();
                        for (int i = 0; i < labels.length; i++)
                            assertEquals(labels[i], (long) px[i * 128], "image " + i + " of batch " + index);
                        checked.add(index);
                        try (Tensor y = Tensor.fromLongs(labels, labels.length)) {
                            return tuner.step(images, y);
                        }
                    },
                    update -> {},
                    u -> true,
                    Map::of);
            assertEquals(3, taken);
            assertEquals(List.of(0L, 1L, 2L), checked);
            assertEquals(3, t.stepCount());
        }
    }

    @Test
    void aStoppedFitResumedEqualsOneFit() throws Exception {
        List<Double> once = new ArrayList<>(), twice = new ArrayList<>();
        try (Classifier c = classifier();
                FineTuner t = tuner(c)) {
            t.fit(TWELVE, Fit.of(2, 5, 5), u -> once.add(u.loss()));
        }
        try (Classifier c = classifier();
                FineTuner t = tuner(c)) {
            assertEquals(2, t.fit(TWELVE, Fit.of(2, 5, 5), u -> twice.add(u.loss()) && u.update() < 2));
            assertEquals(3, t.fit(TWELVE, Fit.of(2, 5, 5), u -> twice.add(u.loss())));
        }
        assertEquals(5, once.size());
        assertEquals(once, twice);
    }

    @Test
    void theEvaluationRunsBeforeTheCheckpointThatCarriesIt(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("c.safetensors");
        long[] evaluated = {0};
        try (Classifier c = classifier();
                FineTuner t = tuner(c)) {
            Fit fit = new Fit(2, 4, 5, null, file, 2, Map.of("seed", "5"));
            t.fit(
                    TWELVE,
                    fit,
                    (tuner, index, images, labels) -> {
                        try (Tensor y = Tensor.fromLongs(labels, labels.length)) {
                            return tuner.step(images, y);
                        }
                    },
                    update -> evaluated[0] = update,
                    u -> true,
                    () -> Map.of("evaluated", Long.toString(evaluated[0])));
        }
        try (Classifier c = classifier();
                FineTuner t = tuner(c)) {
            assertEquals(Map.of("seed", "5", "evaluated", "4"), t.loadCheckpoint(file));
            assertEquals(4, t.stepCount());
        }
    }
}
