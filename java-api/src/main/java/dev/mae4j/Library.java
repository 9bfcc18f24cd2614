package dev.mae4j;

import dev.mae4j.bindings.Mae;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Facts about the loaded native library. */
public final class Library {
    private Library() {}

    /** The LibTorch version libmae was built against, e.g. "1.13.0". */
    public static String torchVersion() {
        NativeLibrary.ensureLoaded();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Status.check(Mae.mae_torch_version(out));
            return NativeLibrary.string(out.get(ValueLayout.ADDRESS, 0));
        }
    }

    /** The ABI version of the loaded libmae (always the one these bindings need: others are refused). */
    public static int abiVersion() {
        NativeLibrary.ensureLoaded();
        return Mae.mae_abi_version();
    }

    /** libtorch's intra-op thread count. */
    public static int threads() {
        NativeLibrary.ensureLoaded();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            Status.check(Mae.mae_get_num_threads(out));
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** Sets libtorch's intra-op thread count for the process (default 1, or -Dmae.threads). */
    public static void setThreads(int n) {
        NativeLibrary.ensureLoaded();
        Status.check(Mae.mae_set_num_threads(n));
    }
}
