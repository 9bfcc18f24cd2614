package dev.mae4j.cli;

import dev.mae4j.Device;
import dev.mae4j.Model;
import dev.mae4j.Weights;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `mae convert`: weights from the Python world (torch.save, Hugging Face) as reference-named safetensors, and back. */
@Command(
        name = "convert",
        mixinStandardHelpOptions = true,
        showDefaultValues = true,
        description =
                "Convert weights: a .pth (torch.save) file, a Hugging Face ViTMAE folder or safetensors in either "
                        + "naming, written as safetensors with the reference's names (or, with --huggingface, as a Hugging Face folder).")
final class ConvertCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "IN", description = "The weights to read.")
    Path in;

    @Parameters(
            index = "1",
            paramLabel = "OUT",
            description = "The safetensors file (or, with --huggingface, the folder) to write.")
    Path out;

    @Option(
            names = "--huggingface",
            description = "Write a Hugging Face ViTMAEForPreTraining folder (model.safetensors + "
                    + "config.json); IN must be a whole MAE whose architecture it records.")
    boolean huggingFace;

    @Option(names = "--mask-ratio", description = "The mask_ratio to put in config.json (with --huggingface).")
    double maskRatio = 0.75;

    @Override
    public Integer call() throws Exception {
        if (huggingFace) {
            try (Model m = Model.load(in, Device.cpu())) {
                m.saveHuggingFace(out, maskRatio);
                System.out.printf(
                        "wrote %s (model.safetensors, config.json): %d parameters%n",
                        out, m.parameters().size());
            }
        } else {
            int n = Weights.convert(in, out);
            System.out.printf("wrote %s: %d tensors with reference names%n", out, n);
        }
        return 0;
    }
}
