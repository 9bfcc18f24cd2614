package dev.mae4j.cli;

import dev.mae4j.Flops;
import dev.mae4j.MaeConfig;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The JSON line of a timed training-step loop, as `mae bench` prints it (and the benchmarks' own harness, which adds
 * its fields): the setting, quartiles of the step times, FLOPs, and what the JVM did while it measured.
 *
 * @param preset the preset's name
 * @param config the configuration timed (the preset with the run's precision)
 * @param ranks processes whose images each step counts
 * @param stepMs each measured step's milliseconds, in the order taken
 */
public record StepReport(
        String preset,
        MaeConfig config,
        int batch,
        int threads,
        int stepThreads,
        int ranks,
        String device,
        double[] stepMs,
        double lastLoss,
        JvmActivity jvm) {

    /** The fields, in the order `mae bench` prints them. */
    public Map<String, Object> fields() {
        double[] ms = stepMs.clone();
        Arrays.sort(ms);
        double median = quantile(ms, 0.5);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("driver", "java");
        out.put("config", preset);
        out.put("precision", config.precision().toString());
        out.put("batch", batch);
        out.put("threads", threads);
        out.put("step_threads", stepThreads);
        out.put("ranks", ranks);
        out.put("device", device);
        out.put("steps", stepMs.length);
        out.put("median_ms", median);
        out.put("p25_ms", quantile(ms, 0.25));
        out.put("p75_ms", quantile(ms, 0.75));
        out.put("images_per_s", 1000.0 * batch * ranks / median);
        // the model's FLOPs (Flops: as PyTorch's FlopCounterMode counts them) at the median step: MFU's numerator
        double flops = Flops.trainingStepPerImage(config, 0.75);
        out.put("train_flops_per_image", flops);
        out.put("achieved_tflops", flops * batch * ranks / (median / 1000.0) / 1e12);
        out.put("last_loss", lastLoss);
        out.put("jvm_settle_steps", jvm.settleSteps());
        out.put("jit_ms_measured", jvm.jitMs());
        out.put("gc_count_measured", jvm.gcCount());
        return out;
    }

    /** The p-quantile of sorted values (nearest rank). */
    public static double quantile(double[] sorted, double p) {
        return sorted[Math.min(sorted.length - 1, (int) (p * (sorted.length - 1) + 0.5))];
    }
}
