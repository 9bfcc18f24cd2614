package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Trainer.fit: the loop of batches, updates and listener calls, continuing from the trainer's position. */
class FitTest {
    private static final ImageDataset TWELVE = new ImageDataset() {
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

        public void copyNormalised(int index, float[] dst, int offset) {
            for (int i = 0; i < 128; i++) dst[offset + i] = (float) Math.cos(index * 31 + i);
        }
    };

    private static List<Fit.Update> fit(Trainer t, Masker m, long updates) throws Exception {
        List<Fit.Update> seen = new ArrayList<>();
        t.fit(TWELVE, m, Fit.of(2, updates, 5), u -> seen.add(u));
        return seen;
    }

    @Test
    void fitsUntilTheUpdateCountAndReportsEach() throws Exception {
        try (Model model = Model.create(MaeConfig.tiny(), Device.cpu(), 0);
                Trainer t = Trainer.builder(model).accumulationSteps(2).build();
                Masker m = Masker.random(0.75, 1)) {
            List<Fit.Update> seen = fit(t, m, 4);
            assertEquals(4, t.stepCount());
            assertEquals(
                    List.of(1L, 2L, 3L, 4L),
                    seen.stream().map(Fit.Update::update).toList());
            // 4 updates × 2 micro-batches × 2 images = 16 images = 8/6 epochs of 12 (6 batches per epoch)
            assertEquals(8.0 / 6, seen.get(3).epoch(), 1e-12);
            assertEquals(0, fit(t, m, 4).size(), "already there");
        }
    }

    @Test
    void twoFitsInARowEqualOneFitAndAListenerCanStop() throws Exception {
        List<Double> once, twice = new ArrayList<>();
        try (Model model = Model.create(MaeConfig.tiny(), Device.cpu(), 0);
                Trainer t = Trainer.builder(model)
                        .schedule(LrSchedule.warmupCosine(1e-2, 0, 1, 5))
                        .build();
                Masker m = Masker.random(0.75, 1)) {
            once = fit(t, m, 5).stream().map(Fit.Update::loss).toList();
        }
        try (Model model = Model.create(MaeConfig.tiny(), Device.cpu(), 0);
                Trainer t = Trainer.builder(model)
                        .schedule(LrSchedule.warmupCosine(1e-2, 0, 1, 5))
                        .build();
                Masker m = Masker.random(0.75, 1)) {
            assertEquals(2, t.fit(TWELVE, m, Fit.of(2, 5, 5), u -> {
                twice.add(u.loss());
                return u.update() < 2;
            }));
            fit(t, m, 5).forEach(u -> twice.add(u.loss()));
        }
        assertEquals(once, twice);
    }

    @Test
    void eachCheckpointCarriesTheFitsProgressAndWhatTheSupplierGivesThen(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("c.safetensors");
        long[] calls = {0};
        try (Model model = Model.create(MaeConfig.tiny(), Device.cpu(), 0);
                Trainer t = Trainer.builder(model).build();
                Masker m = Masker.random(0.75, 1)) {
            Fit fit = new Fit(2, 4, 5, null, file, 2, Map.of("seed", "5"));
            t.fit(TWELVE, m, fit, u -> true, () -> Map.of("calls", Long.toString(++calls[0]), "seed", "overridden"));
        }
        assertEquals(2, calls[0], "asked at updates 2 and 4 only");
        try (Model model = Model.create(MaeConfig.tiny(), Device.cpu(), 0);
                Trainer t = Trainer.builder(model).build();
                Masker m = Masker.random(0.75, 1)) {
            assertEquals(Map.of("seed", "overridden", "calls", "2"), t.loadCheckpoint(file, m));
            assertEquals(4, t.stepCount());
        }
    }
}
