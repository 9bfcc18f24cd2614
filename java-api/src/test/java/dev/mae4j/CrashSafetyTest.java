package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoints survive SIGKILL at any moment and a disk that runs out: the last complete file always loads. */
@Tag("process")
class CrashSafetyTest {
    private static List<String> javaCommand(String... args) {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                System.getProperty("java.class.path")));
        String lib = System.getProperty("mae.library.path");
        if (lib != null) cmd.add("-Dmae.library.path=" + lib);
        cmd.add(CrashChild.class.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }

    @Test
    void killedWhileSavingTheLastCheckpointStillLoads(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("checkpoint.safetensors");
        Random random = new Random(5);
        int kills = 6;
        for (int k = 0; k < kills; k++) {
            Process p = new ProcessBuilder(javaCommand("loop", file.toString()))
                    .redirectErrorStream(true)
                    .start();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            int lastReported = -1;
            long until = -1;
            for (String line; (line = out.readLine()) != null; ) {
                if (!line.startsWith("saved ")) continue;
                lastReported = Integer.parseInt(line.substring(6));
                if (until < 0) until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(random.nextInt(400));
                if (System.nanoTime() >= until) break;
            }
            p.destroyForcibly(); // SIGKILL, most likely in the middle of a write
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertTrue(lastReported >= 0, "the child saved nothing");
            try (Model m = Model.load(file, Device.cpu());
                    Tensor cls = m.parameter("cls_token")) {
                float saved = cls.toFloatArray()[0];
                assertTrue(
                        saved >= lastReported && saved <= lastReported + 2,
                        "kill " + k + ": the file holds iteration " + saved + ", the last reported was "
                                + lastReported);
            }
        }
    }

    @Test
    void aFullDiskFailsTheSaveAndKeepsThePreviousFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("checkpoint.safetensors");
        // A 2 MiB file-size limit: the tiny model fits, the Fashion-MNIST one (~11 MB) does not.
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", "ulimit -f 2048; exec \"$@\"", "child"));
        cmd.addAll(javaCommand("grow", file.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertTrue(output.contains("saved small"), output);
        assertTrue(output.contains("refused:"), "the over-large save must fail with an IOException: " + output);
        try (Model m = Model.load(file, Device.cpu())) {
            assertEquals(MaeConfig.tiny(), m.config(), "the previous checkpoint is intact");
        }
        try (var files = java.nio.file.Files.list(dir)) {
            assertEquals(List.of(file), files.toList(), "the failed write left no temporary file behind");
        }
    }
}
