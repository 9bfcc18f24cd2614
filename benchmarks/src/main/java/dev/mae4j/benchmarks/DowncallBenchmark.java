package dev.mae4j.benchmarks;

import dev.mae4j.Library;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of crossing into libmae: a no-op downcall (mae_abi_version) through the generated bindings, the
 * same symbol through a downcall handle linked with {@code Linker.Option.critical(false)} (no thread-state
 * transition), and a plain Java call.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class DowncallBenchmark {
    private int version;
    private MethodHandle critical;

    @Setup
    public void load() {
        version = Library.abiVersion(); // loads libmae, so the loader lookup below finds its symbols
        critical = Linker.nativeLinker()
                .downcallHandle(
                        SymbolLookup.loaderLookup().find("mae_abi_version").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT),
                        Linker.Option.critical(false));
    }

    @Benchmark
    public int criticalDowncall() throws Throwable {
        return (int) critical.invokeExact();
    }

    @Benchmark
    public int noOpDowncall() {
        return Library.abiVersion();
    }

    @Benchmark
    public int javaBaseline() {
        return version;
    }
}
