package dev.mae4j.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The weights a command reads an encoder from, and the architecture of files that record none (embed, serve). */
final class EncoderWeightsOptions {
    @Option(
            names = "--weights",
            required = true,
            description = "MAE or fine-tuned weights: safetensors, .pth or a Hugging Face folder.")
    Path weights;

    @Option(
            names = "--preset",
            completionCandidates = PresetNames.class,
            description = "Architecture for weights that record none (e.g. official .pth files): "
                    + "${COMPLETION-CANDIDATES}.")
    String preset;
}
