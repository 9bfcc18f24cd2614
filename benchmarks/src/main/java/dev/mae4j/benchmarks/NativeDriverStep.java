package dev.mae4j.benchmarks;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The C++ driver's training step (benchmarks/native, built as libmae_train_step_driver_in_jvm.so) on a model of its
 * own in this process, for `PairedSteps --alternate-native`: one driver step beside each Java step, so both sides of
 * each pair see the same machine, and the ratio is the Java code's cost without the drift between separate runs.
 */
final class NativeDriverStep implements AutoCloseable {
    private final Arena arena = Arena.ofConfined();
    private final MethodHandle step;
    private final MethodHandle close;
    private MemorySegment driver;

    /** Loads the library and builds the driver's step from its command-line options (--config, --batch, ...). */
    NativeDriverStep(Path library, List<String> options) {
        if (!Files.isRegularFile(library))
            throw new IllegalArgumentException("--alternate-native: no library at " + library
                    + " (benchmarks/native builds libmae_train_step_driver_in_jvm.so under native/target/cmake)");
        try {
            Linker linker = Linker.nativeLinker();
            SymbolLookup lib = SymbolLookup.libraryLookup(library, arena);
            MethodHandle open = linker.downcallHandle(
                    find(lib, "mae_train_step_driver_open"),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
            step = linker.downcallHandle(
                    find(lib, "mae_train_step_driver_step"),
                    FunctionDescriptor.of(ValueLayout.JAVA_DOUBLE, ValueLayout.ADDRESS));
            close = linker.downcallHandle(
                    find(lib, "mae_train_step_driver_close"), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
            // argv as the driver's main sees it: its name, then the options
            MemorySegment argv = arena.allocate(ValueLayout.ADDRESS, options.size() + 1);
            argv.setAtIndex(ValueLayout.ADDRESS, 0, arena.allocateFrom("mae_train_step_driver"));
            for (int i = 0; i < options.size(); i++)
                argv.setAtIndex(ValueLayout.ADDRESS, i + 1, arena.allocateFrom(options.get(i)));
            driver = (MemorySegment) open.invokeExact(options.size() + 1, argv);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        } catch (Throwable e) {
            arena.close();
            throw new IllegalStateException("--alternate-native: " + e, e);
        }
        if (driver.equals(MemorySegment.NULL)) {
            arena.close();
            throw new IllegalArgumentException("--alternate-native: the driver refused the options " + options);
        }
    }

    private static MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name)
                .orElseThrow(() -> new IllegalArgumentException(
                        "--alternate-native: the library has no " + name + " (rebuild benchmarks/native)"));
    }

    /** One driver step, timed by the driver around the same libmae call, in milliseconds. */
    double step() {
        try {
            return (double) step.invokeExact(driver);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        if (driver == null) return;
        try {
            close.invokeExact(driver);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        } finally {
            driver = null;
            arena.close();
        }
    }
}
