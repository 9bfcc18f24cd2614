package dev.mae4j;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Native memory does not leak: create/forward/close cycles of models, maskers and tensors keep the resident
 * set flat. They run in a child JVM with a small Java heap (32 MiB, serial GC), so what grows can only be
 * native memory. The soak version runs longer: -Dmae.soak.cycles=100000 (see docs/RELIABILITY.md).
 */
public class LeakTest {
    static long rssKiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status")))
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    static void cycle(double[] pixels) {
        try (Model m = Model.create(MaeConfig.tiny(), Device.cpu(), 1);
             Masker masker = Masker.random(0.75, 1);
             Tensor x = TestData.images(pixels, DType.F32, MaeConfig.tiny(), 2);
             ForwardResult r = m.forward(x, masker);
             Tensor p = m.parameter("norm.weight")) {
            if (!Double.isFinite(r.loss()) || p.elementCount() != 8) throw new AssertionError("bad cycle");
        }
    }

    /** The child: 1000 warm-up cycles, then CYCLES in 10 parts, printing the RSS after each. */
    public static void main(String[] args) throws IOException {
        int cycles = Integer.parseInt(args[0]);
        double[] pixels = TestData.gaussian(256, 81);
        for (int i = 0; i < 1000; i++) cycle(pixels);
        System.out.println("rss " + rssKiB());
        for (int s = 0; s < 10; s++) {
            for (int i = 0; i < cycles / 10; i++) cycle(pixels);
            System.out.println("rss " + rssKiB());
        }
    }

    @Test
    void createForwardCloseCyclesKeepTheResidentSetFlat() throws Exception {
        int cycles = Integer.getInteger("mae.soak.cycles", 2000);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx32m", "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path")));
        String lib = System.getProperty("mae.library.path");
        if (lib != null) cmd.add("-Dmae.library.path=" + lib);
        cmd.addAll(List.of(LeakTest.class.getName(), Integer.toString(cycles)));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.MINUTES) && p.exitValue() == 0, out);
        long[] rss = out.lines().filter(l -> l.startsWith("rss ")).mapToLong(l -> Long.parseLong(l.substring(4))).toArray();
        assertTrue(rss.length == 11, out);
        long growth = rss[10] - rss[0];
        // A leak grows the RSS in every tenth of the run; one-off steps (the JIT's compiled code, malloc arenas)
        // in a few. Count the tenths that grew by more than 0.25 KiB per cycle.
        double perTenth = cycles / 10.0;
        int growing = 0;
        for (int i = 0; i < 10; i++) if ((rss[i + 1] - rss[i]) / perTenth > 0.25) growing++;
        System.out.printf("leak check: %d cycles, RSS %d KiB -> %d KiB (%+d KiB), %d of 10 tenths grew > 0.25 KiB/cycle, samples %s%n",
                cycles, rss[0], rss[10], growth, growing, Arrays.toString(rss));
        assertTrue(growing < 7, "RSS grows steadily (" + growing + " of 10 tenths), samples " + Arrays.toString(rss));
        assertTrue(growth < 16 * 1024, "RSS grew by " + growth + " KiB over " + cycles + " cycles: " + Arrays.toString(rss));
    }
}
