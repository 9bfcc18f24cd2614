package dev.mae4j.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mae4j.Device;
import dev.mae4j.Library;
import dev.mae4j.MaeConfig;
import dev.mae4j.Masker;
import dev.mae4j.Model;
import dev.mae4j.Tensor;
import dev.mae4j.Trainer;
import dev.mae4j.cli.JvmActivity;
import dev.mae4j.cli.StepReport;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The Java training step of `mae bench` (same model, trainer, images and warm-up) timed beside another step in the
 * same moments, so that the machine's drift between runs drops out: with --alternate-native each Java step
 * alternates with a step of the C++ driver in this process (benchmarks/pairs.sh ALTERNATE=1); with --turns it takes
 * its steps in turns with the Python reference's process (benchmarks/python/lockstep.py). CPU, one process. Prints
 * `mae bench`'s JSON line with the pairing's fields added.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp mae-benchmarks.jar dev.mae4j.benchmarks.PairedSteps
 *     --config PRESET (--alternate-native LIBRARY | --turns PREFIX) [--batch N] [--steps N] ...</pre>
 */
@Command(name = "PairedSteps", mixinStandardHelpOptions = true, showDefaultValues = true)
public final class PairedSteps implements Callable<Integer> {
    @Option(names = "--config", description = "The preset timed (norm_pix_loss on, as mae bench).")
    String config = "fashion-mnist";

    @Option(names = "--batch", description = "Images per step (default: mae bench's).")
    Integer batch;

    @Option(names = "--steps", description = "Measured steps.")
    int steps = 10;

    @Option(names = "--warmup", description = "Unmeasured steps first (then more until the JIT is quiet).")
    int warmup = 3;

    @Option(names = "--threads", description = "libtorch intra-op threads (default: the library's).")
    Integer threads;

    @Option(names = "--step-threads", description = "Shards per CPU step (default: the API's for the model).")
    Integer stepThreads;

    @ArgGroup(multiplicity = "1")
    Beside beside;

    /** What the Java steps are paired with: exactly one. */
    static final class Beside {
        @Option(
                names = "--alternate-native",
                paramLabel = "LIBRARY",
                description = "The C++ driver's step (benchmarks/native's libmae_train_step_driver_in_jvm.so) on its"
                        + " own model in this process, one step beside each Java step.")
        Path alternateNative;

        @Option(
                names = "--turns",
                paramLabel = "PREFIX",
                description = "Each step in turn with another process: ask on the pipe PREFIX.from, wait for go on"
                        + " PREFIX.to (benchmarks/python/lockstep.py).")
        Path turnsPrefix;
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new PairedSteps()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (steps < 1 || warmup < 0) throw new IllegalArgumentException("--steps must be >= 1, --warmup >= 0");
        MaeConfig c = MaeConfig.preset(config).toBuilder().normPixLoss(true).build();
        int n = batch != null ? batch : c.imgSize() <= 32 ? 256 : 8;
        if (threads != null) Library.setThreads(threads);
        int intraOp = Library.threads();
        float[] pixels = new float[n * c.inChans() * c.imgSize() * c.imgSize()];
        Random r = new Random(0);
        for (int i = 0; i < pixels.length; i++) pixels[i] = (float) r.nextGaussian();
        double[] javaMs = new double[steps];
        double[] cppMs = beside.alternateNative == null ? null : new double[steps];
        double loss = 0;
        JvmActivity jvm = new JvmActivity();
        int shards;
        try (Model model = Model.create(c, Device.cpu(), 0);
                Trainer trainer = trainer(model);
                Masker masker = Masker.random(0.75, 0);
                Tensor images = Tensor.fromFloats(pixels, n, c.inChans(), c.imgSize(), c.imgSize());
                NativeDriverStep cpp = cppMs == null ? null : driver(n, intraOp, trainer.stepThreads());
                StepTurns turns = beside.turnsPrefix == null ? null : new StepTurns(beside.turnsPrefix)) {
            shards = trainer.stepThreads();
            Runnable warmStep = () -> {
                if (turns != null) turns.await(false);
                trainer.step(images, masker);
                if (cpp != null) cpp.step();
            };
            for (int i = 0; i < warmup; i++) warmStep.run();
            jvm.settle(warmStep);
            jvm.start();
            for (int i = 0; i < steps; i++) {
                // with the driver beside it, each side goes first every other step
                if (cpp != null && i % 2 == 1) cppMs[i] = cpp.step();
                if (turns != null) turns.await(true);
                long t0 = System.nanoTime();
                loss = trainer.step(images, masker);
                javaMs[i] = (System.nanoTime() - t0) / 1e6;
                if (cpp != null && i % 2 == 0) cppMs[i] = cpp.step();
            }
            jvm.stop();
        }
        Map<String, Object> out = new StepReport(config, c, n, intraOp, shards, 1, "cpu", javaMs, loss, jvm).fields();
        out.put("java_ms_in_order", javaMs);
        if (cppMs != null) {
            double[] over = new double[steps];
            for (int i = 0; i < steps; i++) over[i] = 100 * (javaMs[i] / cppMs[i] - 1);
            out.put("cpp_ms_in_order", cppMs.clone());
            java.util.Arrays.sort(cppMs);
            java.util.Arrays.sort(over);
            out.put("cpp_median_ms", StepReport.quantile(cppMs, 0.5));
            out.put("java_over_cpp_pct_median", StepReport.quantile(over, 0.5));
        }
        System.out.println(new ObjectMapper().writeValueAsString(out));
        return 0;
    }

    private Trainer trainer(Model model) {
        Trainer.Builder b =
                Trainer.builder(model).learningRate(1.5e-4).betas(0.9, 0.95).weightDecay(0.05);
        if (stepThreads != null) b.stepThreads(stepThreads);
        return b.build();
    }

    private NativeDriverStep driver(int n, int intraOp, int shards) {
        return new NativeDriverStep(
                beside.alternateNative,
                List.of(
                        "--config",
                        config,
                        "--batch",
                        "" + n,
                        "--threads",
                        "" + intraOp,
                        "--step-threads",
                        "" + shards));
    }
}
