package dev.mae4j.benchmarks;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * The C++ driver's whole timing loop run inside this JVM by one downcall (libmae_train_step_driver_in_jvm.so):
 * no Java runs while it measures, but the JVM's threads are there. Set beside `mae bench` (the Java loop) and the
 * driver as its own process, it tells what being in a JVM process costs from what the Java code costs.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp mae-benchmarks.jar dev.mae4j.benchmarks.DriverInJvm LIBRARY [driver options]</pre>
 */
public final class DriverInJvm {
    private DriverInJvm() {}

    public static void main(String[] args) throws Throwable {
        if (args.length < 1) {
            System.err.println("usage: DriverInJvm LIBRARY [--config NAME --steps N ...]");
            System.exit(2);
        }
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup lib = SymbolLookup.libraryLookup(Path.of(args[0]), arena);
            MethodHandle run = Linker.nativeLinker()
                    .downcallHandle(
                            lib.find("mae_train_step_driver_run").orElseThrow(),
                            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
            // argv: the program name, the driver's options, and its JSON "driver" field
            String[] argv = new String[args.length + 2];
            argv[0] = "mae_train_step_driver";
            System.arraycopy(args, 1, argv, 1, args.length - 1);
            argv[args.length] = "--name";
            argv[args.length + 1] = "c++ in jvm";
            MemorySegment pointers = arena.allocate(ValueLayout.ADDRESS, argv.length);
            for (int i = 0; i < argv.length; i++)
                pointers.setAtIndex(ValueLayout.ADDRESS, i, arena.allocateFrom(argv[i]));
            System.exit((int) run.invokeExact(argv.length, pointers));
        }
    }
}
