package dev.mae4j.cli;

import dev.mae4j.Device;
import dev.mae4j.MaeConfig;
import dev.mae4j.Trainer;
import picocli.CommandLine.Option;

/**
 * How many threads each CPU training step splits its batch over (Trainer/FineTuner.Builder.stepThreads): by
 * default the library's choice for the model (Trainer.defaultStepThreads: one shard per intra-op thread for narrow
 * models, none for wide ones), so that one process uses the whole machine for the whole step.
 */
final class StepThreadsOption {
    @Option(
            names = "--step-threads",
            paramLabel = "N|auto",
            description =
                    "Threads each CPU step splits its batch "
                            + "over (data parallelism inside the process; results equal one thread's up to rounding). auto: one "
                            + "per intra-op thread (OMP_NUM_THREADS when set, else the cores) for models narrower than 512, else 1.")
    String stepThreads = "auto";

    /** What is wrong with the option, or null. */
    String problem() {
        if (stepThreads.equals("auto")) return null;
        try {
            int n = Integer.parseInt(stepThreads);
            return n >= 1 && n <= 1024 ? null : "--step-threads must be in [1, 1024] or auto, got " + n;
        } catch (NumberFormatException e) {
            return "--step-threads must be a positive integer or auto, got '" + stepThreads + "'";
        }
    }

    /** The thread count for a step of this model on {@code device}: auto is Trainer.defaultStepThreads's choice. */
    int resolve(MaeConfig config, Device device) {
        if (device.type() == Device.Type.CUDA) return 1;
        return stepThreads.equals("auto") ? Trainer.defaultStepThreads(config, device) : Integer.parseInt(stepThreads);
    }
}
