package dev.mae4j;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Native memory does not leak: create/forward/close cycles of models, maskers and tensors keep the process's
 * resident set flat. The soak version runs longer: -Dmae.soak.cycles=100000 (see docs/RELIABILITY.md).
 */
class LeakTest {
    private static long rssKiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status")))
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    private static void cycle(double[] pixels) {
        try (Model m = Model.create(MaeConfig.tiny(), Device.cpu(), 1);
             Masker masker = Masker.random(0.75, 1);
             Tensor x = TestData.images(pixels, DType.F32, MaeConfig.tiny(), 2);
             ForwardResult r = m.forward(x, masker);
             Tensor p = m.parameter("norm.weight")) {
            if (!Double.isFinite(r.loss()) || p.elementCount() != 8) throw new AssertionError("bad cycle");
        }
    }

    @Test
    void createForwardCloseCyclesKeepTheResidentSetFlat() throws IOException {
        int cycles = Integer.getInteger("mae.soak.cycles", 2000);
        double[] pixels = TestData.gaussian(256, 81);
        for (int i = 0; i < 300; i++) cycle(pixels);  // allocator pools and JIT settle
        System.gc();
        long start = rssKiB();
        long[] samples = new long[10];
        for (int s = 0; s < samples.length; s++) {
            for (int i = 0; i < cycles / samples.length; i++) cycle(pixels);
            samples[s] = rssKiB();
        }
        long growth = samples[samples.length - 1] - start;
        // A leak of even 1 KiB per cycle would show as 2 MiB here; a model-sized one as far more; allow 16 MiB of allocator and JIT noise.
        System.out.printf("leak check: %d cycles, RSS %d KiB -> %d KiB (%+d KiB, %.3f KiB/cycle)%n",
                cycles, start, samples[samples.length - 1], growth, (double) growth / cycles);
        assertTrue(growth < 16 * 1024, "RSS grew by " + growth + " KiB over " + cycles + " cycles: "
                + java.util.Arrays.toString(samples));
    }
}
