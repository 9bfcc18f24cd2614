package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM (what Ctrl-C and a service manager send) in the middle of a training step: the step finishes, then
 * the JVM exits as asked. Without NativeCalls' wait, the exit ran oneDNN's static destructors under the step and
 * the JVM died with SIGSEGV and a fatal-error report (hs_err_pid*.log) in the working directory, in half of the
 * tries or more. The child signals itself while a step is inside the library and reports that it was (a try whose
 * step ended first, in a window of milliseconds, does not count); seven such signals, each in a JVM of its own, so
 * that a crash that comes half the time is seen with probability 1 − 2^-7 > 99% (three gave 87.5%).
 */
@Tag("process")
class ShutdownTest {
    private static final int HITS = 7;

    @TempDir
    Path dir;

    @Test
    void sigtermDuringATrainingStepEndsTheJvmWithoutACrash() throws Exception {
        int hits = 0;
        for (int i = 0; i < 14 && hits < HITS; i++) if (sigtermDuringAStep(dir.resolve("try-" + i))) hits++;
        assertEquals(HITS, hits, HITS + " signals should have landed inside a step");
    }

    /** True when the signal landed inside a step (and the JVM then exited cleanly), false when the try did not count. */
    private boolean sigtermDuringAStep(Path dir) throws Exception {
        Files.createDirectories(dir);
        List<String> cmd = new ArrayList<>(
                List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.add("--enable-native-access=ALL-UNNAMED");
        System.getProperties().stringPropertyNames().stream()
                .filter(k -> k.startsWith("mae."))
                .forEach(k -> cmd.add("-D" + k + "=" + System.getProperty(k)));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), TrainUntilStopped.class.getName()));
        Path log = dir.resolve("child.log");
        Process child = new ProcessBuilder(cmd)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        try {
            assertTrue(child.waitFor(3, TimeUnit.MINUTES), "the JVM should exit:\n" + Files.readString(log));
            String out = Files.readString(log);
            assertTrue(out.contains("stepping"), "the child should have trained:\n" + out);
            assertEquals(143, child.exitValue(), "128 + SIGTERM, as a JVM ends on SIGTERM:\n" + out);
            assertFalse(out.contains("A fatal error has been detected"), out);
            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(
                        List.of(),
                        files.map(p -> p.getFileName().toString())
                                .filter(f -> f.startsWith("hs_err"))
                                .toList());
            }
            assertTrue(out.contains("signalled during a step") || out.contains("signalled between steps"), out);
            return out.contains("signalled during a step");
        } finally {
            child.destroyForcibly();
        }
    }
}
