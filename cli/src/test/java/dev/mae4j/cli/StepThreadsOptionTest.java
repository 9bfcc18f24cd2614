package dev.mae4j.cli;

import dev.mae4j.Device;
import dev.mae4j.Library;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --step-threads: a count, or auto = the cores this process may use (a launched worker's share), 1 on CUDA. */
class StepThreadsOptionTest {
    private static StepThreadsOption with(String value, Map<String, String> env) {
        StepThreadsOption o = new StepThreadsOption();
        o.stepThreads = value;
        o.environment = env;
        return o;
    }

    @Test
    void autoTakesTheWorkersShareOrTheMachinesCores() {
        Library.setThreads(1);
        assertEquals(3, with("auto", Map.of("OMP_NUM_THREADS", "3")).resolve(Device.cpu()));
        assertEquals(Runtime.getRuntime().availableProcessors(), with("auto", Map.of()).resolve(Device.cpu()));
        assertEquals(Runtime.getRuntime().availableProcessors(),
                with("auto", Map.of("OMP_NUM_THREADS", "4,2")).resolve(Device.cpu()), "a nesting list is not a count");
        assertEquals(5, with("5", Map.of("OMP_NUM_THREADS", "3")).resolve(Device.cpu()), "a count is taken as given");
        assertEquals(1, with("auto", Map.of("OMP_NUM_THREADS", "8")).resolve(Device.cuda(0)), "no split on a GPU");
    }

    @Test
    void autoLeavesRoomForIntraOpThreads() {
        try {
            Library.setThreads(2);
            assertEquals(2, with("auto", Map.of("OMP_NUM_THREADS", "4")).resolve(Device.cpu()));
            assertEquals(1, with("auto", Map.of("OMP_NUM_THREADS", "1")).resolve(Device.cpu()));
        } finally {
            Library.setThreads(1);
        }
    }

    @Test
    void badValuesSayWhatIsExpected() {
        assertNull(with("auto", Map.of()).problem());
        assertNull(with("2", Map.of()).problem());
        for (String bad : new String[] {"0", "-3", "2000", "many", ""}) {
            String problem = with(bad, Map.of()).problem();
            assertTrue(problem != null && problem.startsWith("--step-threads must be"), bad + ": " + problem);
        }
    }
}
