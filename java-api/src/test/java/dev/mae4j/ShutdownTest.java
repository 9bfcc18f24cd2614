package dev.mae4j;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SIGTERM (what Ctrl-C and a service manager send) in the middle of a training step: the step finishes, then
 * the JVM exits as asked. Without NativeCalls' wait, the exit ran oneDNN's static destructors under the step and
 * the JVM died with SIGSEGV and a fatal-error report (hs_err_pid*.log) in the working directory, in half of the
 * tries or more: so three tries, each in a JVM of its own (without the wait the first already failed).
 */
class ShutdownTest {
    @TempDir
    Path dir;

    @Test
    void sigtermDuringATrainingStepEndsTheJvmWithoutACrash() throws Exception {
        for (int i = 0; i < 3; i++) sigtermDuringAStep(dir.resolve("try-" + i));
    }

    private void sigtermDuringAStep(Path dir) throws Exception {
        Files.createDirectories(dir);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.add("--enable-native-access=ALL-UNNAMED");
        System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("mae."))
                .forEach(k -> cmd.add("-D" + k + "=" + System.getProperty(k)));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), TrainUntilStopped.class.getName()));
        Path log = dir.resolve("child.log");
        Process child = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (!Files.readString(log).contains("stepping") && child.isAlive() && System.nanoTime() < deadline)
                Thread.sleep(50);
            assertTrue(child.isAlive(), "the child should be training:\n" + Files.readString(log));
            Thread.sleep(2500);  // a few steps later (a step of 256 images takes about 0.7 s here)
            child.destroy();  // SIGTERM
            assertTrue(child.waitFor(2, TimeUnit.MINUTES), "the JVM should exit");
            String out = Files.readString(log);
            assertEquals(143, child.exitValue(), "128 + SIGTERM, as a JVM ends on SIGTERM:\n" + out);
            assertFalse(out.contains("A fatal error has been detected"), out);
            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(List.of(), files.map(p -> p.getFileName().toString()).filter(f -> f.startsWith("hs_err")).toList());
            }
        } finally {
            child.destroyForcibly();
        }
    }
}
