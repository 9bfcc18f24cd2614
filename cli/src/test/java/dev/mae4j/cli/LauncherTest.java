package dev.mae4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mae4j.FreePort;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The launcher's promise: when one worker fails, it stops the others and returns that worker's status. */
@Tag("process")
class LauncherTest {
    /** A stand-in worker: records its pid; rank 1 fails with status 7 once rank 0 is up, rank 0 would run for ten minutes. */
    public static final class Worker {
        public static void main(String[] args) throws Exception {
            Path dir = Path.of(args[0]);
            int rank = Integer.parseInt(System.getenv("RANK"));
            Files.writeString(
                    dir.resolve("rank-" + rank + ".pid"),
                    Long.toString(ProcessHandle.current().pid()));
            if (rank == 1) {
                long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
                while (!Files.exists(dir.resolve("rank-0.pid")) && System.nanoTime() < deadline) Thread.sleep(10);
                System.exit(7);
            }
            Thread.sleep(TimeUnit.MINUTES.toMillis(10));
        }
    }

    @TempDir
    Path dir;

    @Test
    @Timeout(120) // without the stop, rank 0 would keep the launcher for ten minutes
    void aFailingWorkerStopsTheOthersAndItsStatusIsReturned() throws Exception {
        Launcher launcher = new Launcher(2, 1, 0, "127.0.0.1", FreePort.find());
        assertEquals(7, launcher.run(Worker.class.getName(), List.of(dir.toString()), dir.resolve("logs")));
        long rank0 = Long.parseLong(Files.readString(dir.resolve("rank-0.pid")).strip());
        assertFalse(ProcessHandle.of(rank0).map(ProcessHandle::isAlive).orElse(false), "rank 0 was stopped");
        assertTrue(Files.exists(dir.resolve("rank-1.pid")));
    }
}
