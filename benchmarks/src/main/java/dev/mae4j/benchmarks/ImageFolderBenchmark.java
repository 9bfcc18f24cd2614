package dev.mae4j.benchmarks;

import dev.mae4j.Tensor;
import dev.mae4j.data.ImageFolder;
import dev.mae4j.data.RandomResizedCrop;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * A batch of 64 training images from a folder of JPEGs, as `mae pretrain --images` reads them: each file decoded,
 * cropped at full resolution (RandomResizedCrop 0.2–1, PIL's bicubic) to 224 × 224, flipped, normalised; and the
 * evaluation transform's batch. Decoding runs on the common pool (one thread per core). benchmarks/decode.sh makes
 * the files (-p images=DIR) and runs the Python peer on the same ones.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class ImageFolderBenchmark {
    @Param("")
    public String images;

    private ImageFolder folder;
    private final RandomResizedCrop crops = RandomResizedCrop.mae();
    private final Random random = new Random(1);

    @Setup(Level.Trial)
    public void setup() throws IOException {
        if (images.isEmpty())
            throw new IllegalStateException("run with -p images=DIR (benchmarks/decode.sh makes one)");
        folder = new ImageFolder(
                Path.of(images), 224, 3, new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f});
    }

    private int[] batch() {
        int[] idx = new int[64];
        for (int i = 0; i < idx.length; i++) idx[i] = random.nextInt(folder.size());
        return idx;
    }

    @Benchmark
    public long trainingCrops() {
        try (Tensor t = crops.apply(folder, batch(), 224, random)) {
            return t.elementCount();
        }
    }

    @Benchmark
    public long evaluation() {
        try (Tensor t = folder.batch(batch())) {
            return t.elementCount();
        }
    }
}
