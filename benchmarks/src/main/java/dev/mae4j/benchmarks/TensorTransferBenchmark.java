package dev.mae4j.benchmarks;

import dev.mae4j.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Handing a batch of Fashion-MNIST-sized images (1×28×28 floats) to the library: borrowing caller memory that
 * is already off-heap (Tensor.wrap, zero-copy) against copying a float[] into new off-heap memory
 * (Tensor.fromFloats). Each includes closing the tensor. Heap segments cannot be passed at all: the bindings
 * take native segments only (a heap segment would need Linker.Option.critical(true) on every entry point).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class TensorTransferBenchmark {
    @Param({"1", "16", "256"})
    public int batch;

    private float[] pixels;
    private Arena arena;
    private MemorySegment offHeap;

    @Setup(Level.Trial)
    public void setup() {
        pixels = new float[batch * 28 * 28];
        arena = Arena.ofShared();
        offHeap = arena.allocate((long) pixels.length * 4, 64);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public long wrapOffHeap() {
        try (Tensor t = Tensor.wrap(offHeap, batch, 1, 28, 28)) {
            return t.elementCount();
        }
    }

    @Benchmark
    public long copyFromArray() {
        try (Tensor t = Tensor.fromFloats(pixels, batch, 1, 28, 28)) {
            return t.elementCount();
        }
    }
}
