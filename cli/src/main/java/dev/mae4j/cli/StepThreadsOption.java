package dev.mae4j.cli;

import dev.mae4j.Device;
import dev.mae4j.Library;
import picocli.CommandLine.Option;

import java.util.Map;

/**
 * How many threads each CPU training step splits its batch over (Trainer/FineTuner.Builder.stepThreads): by
 * default the cores this process may use, so that one process uses the whole machine for the whole step.
 */
final class StepThreadsOption {
    @Option(names = "--step-threads", paramLabel = "N|auto", description = "Threads each CPU step splits its batch "
            + "over (data parallelism inside the process; results equal one thread's up to rounding). auto: "
            + "OMP_NUM_THREADS when set (the launcher sets it per worker), else this machine's cores.")
    String stepThreads = "auto";

    /** The environment auto reads; tests replace it. */
    Map<String, String> environment = System.getenv();

    /** What is wrong with the option, or null. */
    String problem() {
        if (stepThreads.equals("auto")) return null;
        try {
            int n = Integer.parseInt(stepThreads);
            return n >= 1 && n <= 1024 ? null : "--step-threads must be in [1, 1024] or auto, got " + n;
        } catch (NumberFormatException e) {
            return "--step-threads must be a positive integer or auto, got '" + stepThreads + "'";
        }
    }

    /**
     * The thread count for a step on {@code device}: 1 on CUDA, where one stream does the work; auto leaves room
     * for libtorch's intra-op threads (each shard runs with them).
     */
    int resolve(Device device) {
        if (device.type() == Device.Type.CUDA) return 1;
        if (!stepThreads.equals("auto")) return Integer.parseInt(stepThreads);
        return Math.max(1, cores() / Math.max(1, Library.threads()));
    }

    private int cores() {
        String omp = environment.get("OMP_NUM_THREADS");
        if (omp != null) {
            try {
                int n = Integer.parseInt(omp.trim());
                if (n >= 1) return Math.min(n, 1024);
            } catch (NumberFormatException ignored) {
                // not a count (e.g. a list of nesting levels): fall back to the cores
            }
        }
        return Math.min(Runtime.getRuntime().availableProcessors(), 1024);
    }
}
