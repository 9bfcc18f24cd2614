package dev.mae4j.cli;

import picocli.CommandLine.Option;

/** The probes' options, shared by `mae pretrain` (its evaluation) and `mae linprobe`. */
final class ProbeOptions {
    @Option(
            names = "--probe-train",
            description = "Training images for the linear probe and kNN (default: ${DEFAULT-VALUE}).")
    int trainImages = 10000;

    @Option(
            names = "--probe-test",
            description = "Test images (t10k split) for the probes (default: ${DEFAULT-VALUE}).")
    int testImages = 2000;

    @Option(names = "--probe-epochs", description = "Epochs of the linear probe (default: ${DEFAULT-VALUE}).")
    int epochs = 30;

    @Option(names = "--knn-k", description = "Neighbours of the kNN classifier (default: ${DEFAULT-VALUE}).")
    int k = 20;

    /** Null when valid, else what to fix. */
    String problem() {
        return trainImages > 0 && testImages > 0 && epochs > 0 && k > 0
                ? null
                : "--probe-train, --probe-test, --probe-epochs and --knn-k must be positive";
    }
}
