package dev.mae4j.benchmarks;

import dev.mae4j.Device;
import dev.mae4j.MaeConfig;
import dev.mae4j.Masker;
import dev.mae4j.Model;
import dev.mae4j.Tensor;
import dev.mae4j.Trainer;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/** Time of one Java-driven training step (forward, backward, AdamW) and one forward pass. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 10)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class TrainStepBenchmark {
    @Param({"fashion-mnist"})
    public String config;

    @Param({"64"})
    public int batch;

    /** Shards per batch (Trainer.Builder.stepThreads); -p stepThreads=1,2 compares the split with one thread. */
    @Param({"1"})
    public int stepThreads;

    private Model model;
    private Trainer trainer;
    private Masker masker;
    private Tensor images;

    @Setup(Level.Trial)
    public void setUp() {
        // a preset of libmae's registry, norm_pix_loss on as every benchmark times it
        MaeConfig cfg = MaeConfig.preset(config).toBuilder().normPixLoss(true).build();
        model = Model.create(cfg, Device.cpu(), 0);
        trainer = Trainer.builder(model)
                .learningRate(1e-4)
                .stepThreads(stepThreads)
                .build();
        masker = Masker.random(0.75, 0);
        float[] data = new float[batch * cfg.inChans() * cfg.imgSize() * cfg.imgSize()];
        Random r = new Random(0);
        for (int i = 0; i < data.length; i++) data[i] = (float) r.nextGaussian();
        images = Tensor.fromFloats(data, batch, cfg.inChans(), cfg.imgSize(), cfg.imgSize());
    }

    @Benchmark
    public double trainStep() {
        return trainer.step(images, masker);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        images.close();
        masker.close();
        trainer.close();
        model.close();
    }
}
