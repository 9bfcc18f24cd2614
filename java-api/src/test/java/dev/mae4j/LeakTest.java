package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Native memory does not leak: cycles of what a service and a training run do — create/forward/close, trainer and
 * fine-tuner steps, embedding from several threads, checkpoint save and load — keep the resident set flat. Each
 * workload runs in a child JVM with a small Java heap (32 MiB, serial GC), so what grows can only be native memory.
 * The RSS cannot show a small leak: a churning heap hands the leaked bytes freed chunks for a long time. So the
 * criterion is what malloc's callers hold (glibc's mallinfo2: every arena, mmapped chunks included), its slope over the
 * cycles (the median over ten intervals of 450 cycles, which one-off steps do not move): under
 * {@link #LIMIT_KIB_PER_CYCLE}; and its growth, which a leak that grows in steps (a buffer reallocated at doublings)
 * cannot hide from the median: the rises of the intervals after the first, less the largest one (one-off fills and
 * frees happen: a run frees 2–6 MiB at one moment, fills 131 KiB at another, which would mask or fake a leak in the
 * difference of the first and last samples), under {@link #LIMIT_KIB_PER_CYCLE} per cycle too plus
 * {@link #ONE_OFF_KIB}. That both catch leaks is itself tested: the same run with 100 and
 * with 32 bytes per cycle injected must fail. The soak version runs longer: -Dmae.soak.cycles=100000
 * (docs/RELIABILITY.md).
 */
@Tag("process")
@Tag("slow")
public class LeakTest {
    /**
     * 25 bytes per cycle: measured slopes are 0 to 0.015 KiB/cycle (embedding from four threads the noisiest); an
     * injected 32 B/cycle leak reads 0.048 (malloc's 48-byte chunks).
     */
    static final double LIMIT_KIB_PER_CYCLE = 0.025;
    /** What may fill once after the warm-up (a cache, an arena) on top of the per-cycle allowance. */
    static final long ONE_OFF_KIB = 16;
    /** Cycles measured after the warm-up, in ten intervals: long enough that a 32 B/cycle leak outgrows the noise. */
    static final int CYCLES = 4500;

    private static final int SAMPLES = 11, WARM_UP = 600;
    private static final long CHILD_DEADLINE_MINUTES = 10;

    static long rssKiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status")))
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    // The self-check's leak: malloc'd and never freed (malloc writes each chunk's header, so the pages are resident).
    private static final java.lang.invoke.MethodHandle MALLOC = java.lang.foreign.Linker.nativeLinker()
            .downcallHandle(
                    java.lang.foreign.Linker.nativeLinker()
                            .defaultLookup()
                            .find("malloc")
                            .orElseThrow(),
                    java.lang.foreign.FunctionDescriptor.of(
                            java.lang.foreign.ValueLayout.ADDRESS, java.lang.foreign.ValueLayout.JAVA_LONG));

    // glibc's mallinfo2(): ten size_t fields; uordblks (7) is the bytes of chunks handed out, over every arena, and
    // hblkhd (4) those in mmapped chunks: what malloc's callers hold, whatever the fragmentation.
    private static final java.lang.invoke.MethodHandle MALLINFO2 = java.lang.foreign.Linker.nativeLinker()
            .downcallHandle(
                    java.lang.foreign.Linker.nativeLinker()
                            .defaultLookup()
                            .find("mallinfo2")
                            .orElseThrow(),
                    java.lang.foreign.FunctionDescriptor.of(
                            java.lang.foreign.MemoryLayout.structLayout(java.lang.foreign.MemoryLayout.sequenceLayout(
                                    10, java.lang.foreign.ValueLayout.JAVA_LONG))));

    static long mallocInUseKiB() throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            java.lang.foreign.MemorySegment info =
                    (java.lang.foreign.MemorySegment) MALLINFO2.invokeExact((java.lang.foreign.SegmentAllocator) a);
            long[] f = info.toArray(java.lang.foreign.ValueLayout.JAVA_LONG);
            return (f[7] + f[4]) / 1024;
        }
    }

    private static void leak(long bytes) throws Throwable {
        java.lang.foreign.MemorySegment p = (java.lang.foreign.MemorySegment) MALLOC.invokeExact(bytes);
        if (p.equals(java.lang.foreign.MemorySegment.NULL)) throw new OutOfMemoryError("malloc");
    }

    /** One workload's cycle; the resources it reuses live as long as the workload. */
    private interface Workload extends AutoCloseable {
        void cycle() throws Exception;

        @Override
        default void close() throws Exception {}
    }

    private static final MaeConfig TINY = MaeConfig.tiny();
    private static final double[] PIXELS = TestData.gaussian(256, 81);

    private static Workload workload(String name, Path scratch) {
        return switch (name) {
            case "models" ->
                () -> {
                    try (Model m = Model.create(TINY, Device.cpu(), 1);
                            Masker masker = Masker.random(0.75, 1);
                            Tensor x = TestData.images(PIXELS, DType.F32, TINY, 2);
                            ForwardResult r = m.forward(x, masker);
                            Tensor p = m.parameter("norm.weight")) {
                        if (!Double.isFinite(r.loss()) || p.elementCount() != 8) throw new AssertionError("bad cycle");
                    }
                };
            case "training" ->
                new Workload() {
                    final Model m = Model.create(TINY, Device.cpu(), 1);
                    final Trainer t = Trainer.builder(m).stepThreads(2).build();
                    final Classifier c = Classifier.create(TINY, 3, 0.1, Device.cpu(), 1);
                    final FineTuner f = FineTuner.builder(c).stepThreads(2).build();
                    final Masker masker = Masker.random(0.75, 1);
                    final Tensor x = TestData.images(PIXELS, DType.F32, TINY, 2),
                            y = Tensor.fromLongs(new long[] {0, 2}, 2);

                    public void cycle() {
                        if (!Double.isFinite(t.step(x, masker)) || !Double.isFinite(f.step(x, y)))
                            throw new AssertionError("bad step");
                    }

                    public void close() {
                        for (AutoCloseable a : List.of(y, x, masker, f, c, t, m))
                            try {
                                a.close();
                            } catch (Exception ignored) {
                                // closing frees; nothing to report
                            }
                    }
                };
            case "embedding" ->
                new Workload() {
                    final Model m = Model.create(TINY, Device.cpu(), 1);
                    final Encoder e = Encoder.of(m);
                    final Tensor x = TestData.images(PIXELS, DType.F32, TINY, 2);
                    final ExecutorService pool = Executors.newFixedThreadPool(4);

                    public void cycle() throws Exception {
                        List<Future<?>> calls = new ArrayList<>();
                        for (int i = 0; i < 4; i++) {
                            Encoder.Output output = i % 2 == 0 ? Encoder.Output.CLS : Encoder.Output.TOKENS;
                            calls.add(pool.submit(() -> {
                                try (Tensor f = e.embed(x, output)) {
                                    return f.elementCount();
                                }
                            }));
                        }
                        for (Future<?> c : calls) c.get();
                    }

                    public void close() {
                        pool.shutdownNow();
                        x.close();
                        m.close();
                    }
                };
            case "checkpoints" ->
                new Workload() {
                    final Model m = Model.create(TINY, Device.cpu(), 1);
                    final Trainer t = Trainer.builder(m).build();
                    final Masker masker = Masker.random(0.75, 1);

                    public void cycle() throws IOException {
                        t.saveCheckpoint(scratch.resolve("checkpoint.safetensors"), masker, Map.of("epoch", "1"));
                        t.loadCheckpoint(scratch.resolve("checkpoint.safetensors"), masker);
                        m.save(scratch.resolve("weights.safetensors"));
                        try (Model back = Model.load(scratch.resolve("weights.safetensors"), Device.cpu())) {
                            if (back.parameters().size() != m.parameters().size()) throw new AssertionError("bad load");
                        }
                    }

                    public void close() {
                        masker.close();
                        t.close();
                        m.close();
                    }
                };
            default -> throw new IllegalArgumentException("no workload " + name);
        };
    }

    /**
     * The child: WORKLOAD CYCLES LEAK_BYTES: WARM_UP cycles (LibTorch's and malloc's caches fill in the first few
     * hundred), then CYCLES, printing "rss DONE RSS_KIB MALLOC_IN_USE_KIB" SAMPLES times. Checkpoints go to /dev/shm where there is one: the
     * files' fsync would otherwise make their cycle the slowest by far.
     */
    public static void main(String[] args) throws Throwable {
        int cycles = Integer.parseInt(args[1]);
        long leak = args.length > 2 ? Long.parseLong(args[2]) : 0;
        Path shm = Path.of("/dev/shm");
        Path scratch = Files.isDirectory(shm) && Files.isWritable(shm)
                ? Files.createTempDirectory(shm, "mae4j-leak")
                : Files.createTempDirectory("mae4j-leak");
        try (Workload w = workload(args[0], scratch)) {
            for (int i = 0; i < WARM_UP; i++) w.cycle();
            for (int done = 0, s = 0; s < SAMPLES; s++) { // "rss DONE RSS_KIB MALLOC_IN_USE_KIB"
                for (int target = (int) ((long) cycles * s / (SAMPLES - 1)); done < target; done++) {
                    w.cycle();
                    if (leak > 0) leak(leak);
                }
                System.out.println("rss " + done + " " + rssKiB() + " " + mallocInUseKiB());
            }
        } finally {
            try (var files = Files.list(scratch)) {
                for (Path f : files.toList()) Files.deleteIfExists(f);
            }
            Files.deleteIfExists(scratch);
        }
    }

    /** Runs a workload in a child JVM; returns its samples as [cycles done, RSS KiB, malloc in use KiB]. */
    private static long[][] soak(String workload, int cycles, long leakBytes) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                // Everything compiled on first call, by C1 alone: compiles that happen later, as methods get hot,
                // take and free hundreds of KiB in malloc well after the warm-up (a CI run saw +364 KiB in one
                // interval) and would blur the count
                "-Xmx32m",
                "-XX:+UseSerialGC",
                "-Xcomp",
                "-XX:TieredStopAtLevel=1",
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                System.getProperty("java.class.path")));
        String lib = System.getProperty("mae.library.path");
        if (lib != null) cmd.add("-Dmae.library.path=" + lib);
        cmd.addAll(List.of(LeakTest.class.getName(), workload, Integer.toString(cycles), Long.toString(leakBytes)));
        // The child writes to a file, read after it ended or was stopped at the deadline: a hung child cannot block
        // the suite on a read.
        Path log = Files.createTempFile("mae4j-leak", ".log");
        String out;
        try {
            Process p = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            boolean ended = p.waitFor(CHILD_DEADLINE_MINUTES, TimeUnit.MINUTES);
            if (!ended) p.destroyForcibly().waitFor();
            out = Files.readString(log, StandardCharsets.UTF_8);
            assertTrue(
                    ended, "the " + workload + " child did not end in " + CHILD_DEADLINE_MINUTES + " minutes:\n" + out);
            assertTrue(p.exitValue() == 0, out);
        } finally {
            Files.deleteIfExists(log);
        }
        long[][] samples = out.lines()
                .filter(l -> l.startsWith("rss "))
                .map(l -> l.substring(4).split(" "))
                .map(f -> new long[] {Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2])})
                .toArray(long[][]::new);
        assertTrue(samples.length == SAMPLES, out);
        return samples;
    }

    /**
     * The median of the slopes of malloc's bytes in use over the intervals between samples, in KiB per cycle: a steady
     * leak raises every interval's, one-off steps (a cache filling, the JVM returning its compiler's memory) only one.
     */
    static double slope(long[][] samples) {
        double[] s = new double[samples.length - 1];
        for (int i = 0; i + 1 < samples.length; i++)
            s[i] = (double) (samples[i + 1][2] - samples[i][2]) / (samples[i + 1][0] - samples[i][0]);
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /**
     * What malloc's bytes in use rose by, in KiB: the rises of the intervals after the first (the warm-up's tail),
     * falls ignored (a free does not undo a leak), less the largest rise (one fill that happens once).
     */
    static long growth(long[][] samples) {
        long sum = 0, largest = 0;
        for (int i = 2; i < samples.length; i++) {
            long rise = Math.max(0, samples[i][2] - samples[i - 1][2]);
            sum += rise;
            largest = Math.max(largest, rise);
        }
        return sum - largest;
    }

    /** The most {@link #growth} may be: the per-cycle limit over the cycles it counts, plus one-off fills. */
    static double growthLimit(long[][] samples) {
        int intervals = samples.length - 1;
        long cycles = samples[samples.length - 1][0] - samples[0][0];
        return ONE_OFF_KIB + LIMIT_KIB_PER_CYCLE * cycles * (intervals - 2) / intervals;
    }

    /** Whether the samples show no leak: a flat median slope and a bounded total growth. */
    static boolean flat(long[][] samples) {
        return slope(samples) < LIMIT_KIB_PER_CYCLE && growth(samples) < growthLimit(samples);
    }

    private static String describe(String workload, long[][] samples) {
        return String.format(
                "%s: %d cycles, RSS %d KiB -> %d KiB, malloc'd %s KiB: slope %.4f KiB/cycle (limit %.3f), growth %d"
                        + " KiB (limit %.0f)",
                workload,
                samples[samples.length - 1][0],
                samples[0][1],
                samples[samples.length - 1][1],
                Arrays.toString(Arrays.stream(samples).mapToLong(x -> x[2]).toArray()),
                slope(samples),
                LIMIT_KIB_PER_CYCLE,
                growth(samples),
                growthLimit(samples));
    }

    @ParameterizedTest
    @ValueSource(strings = {"models", "training", "embedding", "checkpoints"})
    void cyclesKeepTheResidentSetFlat(String workload) throws Exception {
        long[][] samples = soak(workload, Integer.getInteger("mae.soak.cycles", CYCLES), 0);
        System.out.println("leak check " + describe(workload, samples));
        assertTrue(
                slope(samples) < LIMIT_KIB_PER_CYCLE, "malloc'd memory grows steadily: " + describe(workload, samples));
        assertTrue(
                growth(samples) < growthLimit(samples), "malloc'd memory grew in all: " + describe(workload, samples));
        long growth = samples[samples.length - 1][1] - samples[0][1];
        assertTrue(growth < 16 * 1024, "RSS grew by " + growth + " KiB: " + describe(workload, samples));
    }

    /**
     * The criteria's power: the cheapest workload with a leak of 100, then 32 bytes per cycle injected must fail both
     * the slope and the growth bound.
     */
    @ParameterizedTest
    @ValueSource(longs = {100, 32})
    void anInjectedLeakIsCaught(long bytesPerCycle) throws Exception {
        long[][] samples = soak("models", CYCLES, bytesPerCycle);
        String seen = describe("models", samples);
        System.out.println("leak check with " + bytesPerCycle + " B/cycle injected " + seen);
        assertTrue(slope(samples) >= LIMIT_KIB_PER_CYCLE, bytesPerCycle + " B/cycle escaped the slope: " + seen);
        assertTrue(
                growth(samples) >= growthLimit(samples), bytesPerCycle + " B/cycle escaped the growth bound: " + seen);
        assertTrue(!flat(samples), seen);
    }
}
