package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The CPU defaults a user who does not tune gets: every core, split by shards for narrow models only. */
class ThreadDefaultsTest {
    private static final int PROCESSORS = Runtime.getRuntime().availableProcessors();

    @Test
    void coresAreTheLaunchersShareOrTheProcessors() {
        assertEquals(3, Library.cores(Map.of("OMP_NUM_THREADS", "3")));
        assertEquals(PROCESSORS, Library.cores(Map.of()));
        assertEquals(PROCESSORS, Library.cores(Map.of("OMP_NUM_THREADS", "4,2")), "a nesting list is not a count");
        assertEquals(PROCESSORS, Library.cores(Map.of("OMP_NUM_THREADS", "0")));
    }

    @Test
    void theLibraryStartsWithEveryCoreUnlessTold() {
        assertEquals(PROCESSORS, NativeLibrary.startThreads(null, Map.of()));
        assertEquals(2, NativeLibrary.startThreads(null, Map.of("OMP_NUM_THREADS", "2")));
        assertEquals(5, NativeLibrary.startThreads(" 5", Map.of("OMP_NUM_THREADS", "2")), "-Dmae.threads wins");
        for (String bad : new String[] {"0", "-1", "two"}) {
            MaeException e = assertThrows(MaeException.class, () -> NativeLibrary.startThreads(bad, Map.of()));
            assertTrue(e.getMessage().contains("-Dmae.threads must be a positive integer"), e.getMessage());
        }
    }

    @Test
    void narrowModelsSplitTheBatchWideOnesDoNot() {
        int saved = Library.threads();
        try {
            Library.setThreads(4);
            assertEquals(4, Trainer.defaultStepThreads(MaeConfig.fashionMnist(), Device.cpu()));
            assertEquals(4, Trainer.defaultStepThreads(MaeConfig.tiny(), Device.cpu()));
            assertEquals(1, Trainer.defaultStepThreads(MaeConfig.vitBase16(), Device.cpu()));
            assertEquals(1, Trainer.defaultStepThreads(MaeConfig.fashionMnist(), Device.cuda(0)));
            try (Model model = Model.create(MaeConfig.tiny(), Device.cpu(), 1);
                    Trainer trainer = Trainer.builder(model).build();
                    Trainer one = Trainer.builder(model).stepThreads(1).build();
                    Classifier c = Classifier.fromEncoder(model, 3, 0.0, 1);
                    FineTuner tuner = FineTuner.builder(c).build()) {
                assertEquals(4, trainer.stepThreads(), "the builder's default is defaultStepThreads");
                assertEquals(1, one.stepThreads());
                assertEquals(4, tuner.stepThreads());
            }
        } finally {
            Library.setThreads(saved);
        }
    }
}
