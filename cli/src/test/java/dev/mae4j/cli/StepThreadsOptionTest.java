package dev.mae4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mae4j.Device;
import dev.mae4j.Library;
import dev.mae4j.MaeConfig;
import org.junit.jupiter.api.Test;

/** --step-threads: a count, or auto = one shard per intra-op thread for narrow models, none for wide ones or CUDA. */
class StepThreadsOptionTest {
    private static final MaeConfig NARROW = MaeConfig.fashionMnist(), WIDE = MaeConfig.vitBase16();

    private static StepThreadsOption with(String value) {
        StepThreadsOption o = new StepThreadsOption();
        o.stepThreads = value;
        return o;
    }

    @Test
    void autoSplitsNarrowModelsOverTheIntraOpThreads() {
        int saved = Library.threads();
        try {
            Library.setThreads(3);
            assertEquals(3, with("auto").resolve(NARROW, Device.cpu()));
            assertEquals(1, with("auto").resolve(WIDE, Device.cpu()), "a ViT-B's ops use the threads themselves");
            assertEquals(1, with("auto").resolve(NARROW, Device.cuda(0)), "no split on a GPU");
            assertEquals(5, with("5").resolve(WIDE, Device.cpu()), "a count is taken as given");
            Library.setThreads(1);
            assertEquals(1, with("auto").resolve(NARROW, Device.cpu()));
        } finally {
            Library.setThreads(saved);
        }
    }

    @Test
    void badValuesSayWhatIsExpected() {
        assertNull(with("auto").problem());
        assertNull(with("2").problem());
        for (String bad : new String[] {"0", "-3", "2000", "many", ""}) {
            String problem = with(bad).problem();
            assertTrue(problem != null && problem.startsWith("--step-threads must be"), bad + ": " + problem);
        }
    }
}
