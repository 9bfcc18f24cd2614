package dev.mae4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mae4j.Device;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How a process reads torchrun's variables: launcher or worker, its rank, its GPU. */
class DistributedOptionsTest {
    private static DistributedOptions with(Map<String, String> env, int nproc) {
        DistributedOptions d = new DistributedOptions();
        d.environment = env;
        d.nprocPerNode = nproc;
        return d;
    }

    @Test
    void aProcessWithoutWorldSizeLaunchesWhenAskedForSeveral() {
        assertTrue(with(Map.of(), 2).launches());
        assertFalse(with(Map.of(), 1).launches());
        assertFalse(with(Map.of("WORLD_SIZE", "2", "RANK", "1"), 2).launches(), "a worker never launches workers");
    }

    @Test
    void workersTakeRankWorldAndStoreFromTheEnvironment() {
        var role = with(Map.of("WORLD_SIZE", "4", "RANK", "3", "MASTER_ADDR", "10.0.0.7", "MASTER_PORT", "1234"), 1)
                .role(Device.cpu());
        assertEquals(3, role.rank());
        assertEquals(4, role.ranks());
        assertFalse(role.main());
        assertEquals("10.0.0.7", role.options().masterAddr());
        assertEquals(1234, role.options().masterPort());
        var alone = with(Map.of("WORLD_SIZE", "1"), 1).role(Device.cpu());
        assertNull(alone.options(), "a world of one trains without a group");
        assertTrue(alone.main());
        assertThrows(
                IllegalArgumentException.class,
                () -> with(Map.of("WORLD_SIZE", "2", "RANK", "two"), 1).role(Device.cpu()));
    }

    @Test
    void aBareCudaMeansThisWorkersOwnGpu() {
        DistributedOptions worker = with(Map.of("WORLD_SIZE", "2", "RANK", "1", "LOCAL_RANK", "1"), 1);
        assertEquals(Device.cuda(1), worker.device("cuda"));
        assertEquals(Device.cuda(0), worker.device("cuda:0"), "an explicit index is kept");
        assertEquals(Device.cpu(), worker.device("cpu"));
        assertEquals(Device.cuda(0), with(Map.of(), 1).device("cuda"));
    }
}
