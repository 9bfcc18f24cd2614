package dev.mae4j;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Native calls in flight in this process, and the shutdown hook that lets them finish. The JVM's exit (SIGTERM,
 * Ctrl-C, System.exit) runs the native libraries' static destructors (oneDNN's, libtorch's); a training step still
 * inside them would crash the process with a fatal-error report. So on shutdown no new call starts (it throws
 * IllegalStateException) and the hook waits for those in flight, at most {@code mae.shutdownWaitSeconds} (default
 * 60: a ViT-B/16 step on two CPU cores takes 4 s). A shutdown hook of the application cannot call mae4j either:
 * checkpoints are for saving as training goes, not on the way out.
 */
final class NativeCalls {
    private static final AtomicLong IN_FLIGHT = new AtomicLong();
    private static volatile boolean shuttingDown;

    static {
        try {
            Runtime.getRuntime().addShutdownHook(new Thread(NativeCalls::drain, "mae4j-native-calls-drain"));
        } catch (IllegalStateException alreadyShuttingDown) {
            shuttingDown = true;
        }
    }

    private NativeCalls() {}

    /** Counts a call in; throws IllegalStateException once the JVM is shutting down. */
    static void enter() {
        IN_FLIGHT.incrementAndGet();
        // after the increment: drain either sees this call or this call sees the flag
        if (shuttingDown) {
            IN_FLIGHT.decrementAndGet();
            throw new IllegalStateException("the JVM is shutting down: mae4j starts no new native call");
        }
    }

    static void exit() {
        IN_FLIGHT.decrementAndGet();
    }

    /** Calls counted in and not yet out. */
    static long inFlight() {
        return IN_FLIGHT.get();
    }

    private static void drain() {
        shuttingDown = true;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.getLong("mae.shutdownWaitSeconds", 60));
        while (IN_FLIGHT.get() > 0 && System.nanoTime() - deadline < 0) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
