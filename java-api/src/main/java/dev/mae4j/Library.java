package dev.mae4j;

import dev.mae4j.bindings.Mae;

/** Facts about the loaded native library. */
public final class Library {
    private Library() {}

    /** The LibTorch version libmae was built against, e.g. "2.13.0". */
    public static String torchVersion() {
        NativeLibrary.ensureLoaded();
        return Downcall.readString(Mae::mae_torch_version);
    }

    /** The ABI version of the loaded libmae (always the one these bindings need: others are refused). */
    public static int abiVersion() {
        NativeLibrary.ensureLoaded();
        return Mae.mae_abi_version();
    }

    /**
     * The cores a process may use: OMP_NUM_THREADS when it holds a count (mae's launcher and torchrun set it to each
     * worker's share), else the JVM's available processors.
     */
    public static int cores(java.util.Map<String, String> environment) {
        String omp = environment.get("OMP_NUM_THREADS");
        if (omp != null) {
            try {
                int n = Integer.parseInt(omp.trim());
                if (n >= 1) return Math.min(n, 1024);
            } catch (NumberFormatException notACount) {
                // e.g. a list of nesting levels: fall back to the processors
            }
        }
        return Math.min(Runtime.getRuntime().availableProcessors(), 1024);
    }

    /** libtorch's intra-op thread count. */
    public static int threads() {
        NativeLibrary.ensureLoaded();
        return Downcall.readInt(Mae::mae_get_num_threads);
    }

    /**
     * Sets libtorch's intra-op thread count for the process. Default: the cores this process may use
     * ({@link #cores}), as PyTorch; -Dmae.threads=N at start-up. Inside a service that shares the machine, give
     * it the cores mae4j may take.
     */
    public static void setThreads(int n) {
        NativeLibrary.ensureLoaded();
        Downcall.run(() -> Mae.mae_set_num_threads(n));
    }
}
