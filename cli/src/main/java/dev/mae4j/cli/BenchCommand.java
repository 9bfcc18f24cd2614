package dev.mae4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mae4j.Device;
import dev.mae4j.ForwardResult;
import dev.mae4j.Library;
import dev.mae4j.MaeConfig;
import dev.mae4j.Masker;
import dev.mae4j.Model;
import dev.mae4j.ProcessGroup;
import dev.mae4j.Tensor;
import dev.mae4j.Trainer;
import dev.mae4j.Weights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * `mae bench`: images/s of the Java-driven training step (forward, backward, AdamW) at a benchmark configuration,
 * with the protocol of benchmarks/native's C++ driver and benchmarks/python's reference: warm-up steps, then
 * each measured step timed alone; one JSON line, which also says how many extra warm-up steps the JIT needed to
 * go quiet and how much it compiled while the steps were timed. --export-check writes what the Python reference must reproduce.
 * With --nproc-per-node N it times the data-parallel step of N worker processes (each --batch images, gradients
 * all-reduced over loopback); rank 0 prints the line, images/s counting all ranks' images. The benchmarks' harness
 * (benchmarks/: steps beside the C++ driver or in turns with Python) builds on {@link StepReport} and
 * {@link JvmActivity}.
 */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        showDefaultValues = true,
        description =
                "Time the training step of a preset (norm_pix_loss on, as the paper pretrains) and print images/s as JSON.")
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--config",
            completionCandidates = PresetNames.class,
            description = "The preset timed: ${COMPLETION-CANDIDATES}.")
    String config = "fashion-mnist";

    @Option(names = "--batch", description = "Images per step (default: 256 for images of up to 32 px, else 8).")
    Integer batch;

    @Option(names = "--steps", description = "Measured steps.")
    int steps = 10;

    @Option(
            names = "--warmup",
            description = "Unmeasured steps first (then, in one process, more, at most " + JvmActivity.MAX_SETTLE_STEPS
                    + ", until one passes without JIT compilation).")
    int warmup = 3;

    @Option(names = "--threads", description = "libtorch intra-op threads (default: the library's, every core).")
    Integer threads;

    @Option(names = "--device", description = "cpu, cuda or cuda:N.")
    String device = "cpu";

    @Option(
            names = "--export-check",
            description = "Also write DIR/weights.safetensors and DIR/check.safetensors "
                    + "(images, noise, loss, prediction) for benchmarks/python/bench_step.py's equality check.")
    Path exportCheck;

    @Mixin
    DistributedOptions dist = new DistributedOptions();

    @Mixin
    StepThreadsOption stepThreadsOption = new StepThreadsOption();

    @Mixin
    PrecisionOption precision = new PrecisionOption();

    /** The preset {@code name} as the benchmarks time it: norm_pix_loss on, as the paper's pretraining. */
    static MaeConfig named(String name) {
        return MaeConfig.preset(name).toBuilder().normPixLoss(true).build();
    }

    /** The batch the benchmarks time a preset at unless told: 256 for images of up to 32 px, else 8. */
    static int defaultBatch(String name) {
        return MaeConfig.preset(name).imgSize() <= 32 ? 256 : 8;
    }

    @Override
    public Integer call() throws Exception {
        MaeConfig c = validated();
        if (dist.launches())
            return dist.launcher()
                    .run(spec.commandLine().getParseResult().originalArgs(), Files.createTempDirectory("mae-bench-"));
        Device dev = dist.device(device);
        DistributedOptions.Role role = dist.role(dev);
        int ranks = role.ranks();
        int n = batch != null ? batch : defaultBatch(config);
        if (threads != null) Library.setThreads(threads);
        int intraOp = Library.threads();
        int stepThreads = stepThreadsOption.resolve(c, dev);
        try (ProcessGroup group = role.join();
                Model model = Model.create(c, dev, 0)) {
            if (exportCheck != null) exportCheck(model, c);
            float[] pixels = new float[n * c.inChans() * c.imgSize() * c.imgSize()];
            Random r = new Random(0);
            for (int i = 0; i < pixels.length; i++) pixels[i] = (float) r.nextGaussian();
            double[] ms = new double[steps];
            double loss = 0;
            JvmActivity jvm = new JvmActivity();
            try (Trainer trainer = Trainer.builder(model)
                            .learningRate(1.5e-4)
                            .betas(0.9, 0.95)
                            .weightDecay(0.05)
                            .processGroup(group)
                            .stepThreads(stepThreads)
                            .build();
                    Masker masker = Masker.random(0.75, group == null ? 0 : group.rank());
                    Tensor images = Tensor.fromFloats(pixels, n, c.inChans(), c.imgSize(), c.imgSize())) {
                Runnable warmStep = () -> trainer.step(images, masker);
                for (int i = 0; i < warmup; i++) warmStep.run();
                // Ranks must take the same steps (each one all-reduces), and each JIT goes quiet on its own time.
                if (group == null) jvm.settle(warmStep);
                jvm.start();
                for (int i = 0; i < steps; i++) {
                    long t0 = System.nanoTime();
                    loss = trainer.step(images, masker);
                    ms[i] = (System.nanoTime() - t0) / 1e6;
                }
                jvm.stop();
            }
            if (group != null && !group.isMain()) return 0;
            StepReport report = new StepReport(config, c, n, intraOp, stepThreads, ranks, device, ms, loss, jvm);
            System.out.println(new ObjectMapper().writeValueAsString(report.fields()));
        }
        return 0;
    }

    /** The configuration the options name, after checking the options that go together. */
    private MaeConfig validated() {
        MaeConfig c;
        try {
            c = precision.apply(named(config));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (steps < 1 || warmup < 0 || (threads != null && threads < 1))
            throw new ParameterException(spec.commandLine(), "--steps and --threads must be positive, --warmup >= 0");
        new OptionChecks(spec).problem(dist.problem()).problem(stepThreadsOption.problem());
        return c;
    }

    // The initial weights, two images, noise, and libmae's loss and prediction on them.
    private void exportCheck(Model model, MaeConfig c) throws java.io.IOException {
        Files.createDirectories(exportCheck);
        model.save(exportCheck.resolve("weights.safetensors"));
        int n = 2, l = c.numPatches();
        Random r = new Random(1);
        float[] px = new float[n * c.inChans() * c.imgSize() * c.imgSize()];
        for (int i = 0; i < px.length; i++) px[i] = (float) r.nextGaussian();
        float[] noise = new float[n * l];
        for (int i = 0; i < noise.length; i++) noise[i] = r.nextFloat();
        try (Tensor images = Tensor.fromFloats(px, n, c.inChans(), c.imgSize(), c.imgSize());
                Tensor noiseT = Tensor.fromFloats(noise, n, l);
                Masker masker = Masker.fromNoise(noiseT, 0.75);
                ForwardResult f = model.forward(images, masker);
                Tensor loss = Tensor.fromFloats(new float[] {(float) f.loss()}, 1)) {
            Map<String, Tensor> t = new LinkedHashMap<>();
            t.put("images", images);
            t.put("noise", noiseT);
            t.put("loss", loss);
            t.put("pred", f.pred());
            Weights.write(exportCheck.resolve("check.safetensors"), t, Map.of("config", config));
        }
    }
}
