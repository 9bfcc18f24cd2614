package dev.mae4j.cli;

import dev.mae4j.Device;
import dev.mae4j.ImageDataset;
import dev.mae4j.Model;
import dev.mae4j.Preprocessing;
import dev.mae4j.data.ImageFolder;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** `mae reconstruct`: the paper's figure for one image of your own. */
@Command(
        name = "reconstruct",
        mixinStandardHelpOptions = true,
        showDefaultValues = true,
        description =
                "Mask an image, reconstruct it, and draw original | masked | reconstruction | with visible patches.")
final class ReconstructCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--weights",
            required = true,
            description = "A checkpoint (safetensors with its config in the metadata).")
    Path weights;

    @Option(
            names = "--image",
            required = true,
            description =
                    "A JPEG or PNG image; resized and centre-cropped to the model's size (the evaluation transform).")
    Path image;

    @Option(names = "--out", required = true, description = "The PNG to write.")
    Path out;

    @Option(names = "--mask-ratio", description = "Fraction of patches removed.")
    double maskRatio = 0.75;

    @Option(names = "--seed", description = "Seed of the mask.")
    long seed = 0;

    @picocli.CommandLine.Mixin
    PreprocessingOptions preprocessing = new PreprocessingOptions();

    @Override
    public Integer call() throws Exception {
        new OptionChecks(spec).belowOne("--mask-ratio", maskRatio);
        try (Model model = Model.load(weights, Device.cpu())) {
            var c = model.config();
            if (c.inChans() != 1 && c.inChans() != 3)
                throw new ParameterException(
                        spec.commandLine(),
                        "only grey (1) and RGB (3) models can be drawn, this one has " + c.inChans() + " channels");
            Preprocessing p = preprocessing.resolve(
                    model.preprocessing(), weights, spec.commandLine().getErr());
            float[] mean = p.mean(), std = p.std();
            ImageDataset one = new ImageDataset() {
                public int size() {
                    return 1;
                }

                public int channels() {
                    return c.inChans();
                }

                public int height() {
                    return c.imgSize();
                }

                public int width() {
                    return c.imgSize();
                }

                public void copyNormalised(int index, float[] dst, int offset) {
                    ImageFolder.decode(image, c.imgSize(), c.inChans(), mean, std, dst, offset);
                }
            };
            ReconstructionFigure.write(out, model, one, new int[] {0}, maskRatio, seed, mean, std);
            System.out.println("wrote " + out);
        }
        return 0;
    }
}
