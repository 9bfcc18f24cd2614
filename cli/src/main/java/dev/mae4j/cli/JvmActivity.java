package dev.mae4j.cli;

import java.lang.management.CompilationMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;

/**
 * What the JVM itself did around a timed loop: the JIT compiler's and the collectors' threads compete with the
 * step's threads for the cores, so `mae bench` (and the benchmarks' harness) warms up until the JIT is quiet and reports what happened while it
 * measured (so an outlier can be told from the JVM's own work).
 */
public final class JvmActivity {
    /** Most extra warm-up steps spent waiting for a quiet JIT. */
    public static final int MAX_SETTLE_STEPS = 20;

    private final CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    private int settleSteps;
    private long jitAtStart, jitMs = -1, gcAtStart, gcCount;

    /** Runs {@code step} until one whole step passes without JIT compilation (at most MAX_SETTLE_STEPS times). */
    public void settle(Runnable step) {
        while (settleSteps < MAX_SETTLE_STEPS) {
            long before = jitTime();
            step.run();
            settleSteps++;
            if (jitTime() == before) return;
        }
    }

    public void start() {
        jitAtStart = jitTime();
        gcAtStart = gcCollections();
    }

    public void stop() {
        jitMs = jitAtStart < 0 ? -1 : jitTime() - jitAtStart;
        gcCount = gcCollections() - gcAtStart;
    }

    public int settleSteps() {
        return settleSteps;
    }

    /** Milliseconds of JIT compilation between start and stop; -1 where the JVM does not count it. */
    public long jitMs() {
        return jitMs;
    }

    public long gcCount() {
        return gcCount;
    }

    private long jitTime() {
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : -1;
    }

    private static long gcCollections() {
        long n = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans())
            n += Math.max(0, gc.getCollectionCount());
        return n;
    }
}
