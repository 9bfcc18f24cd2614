package dev.mae4j.cli;

import dev.mae4j.Device;
import dev.mae4j.Encoder;
import dev.mae4j.MaeConfig;
import dev.mae4j.Preprocessing;
import dev.mae4j.Tensor;
import dev.mae4j.data.ImageFolder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** `mae embed`: encoder features of a folder of images, as a .npy array numpy.load reads. */
@Command(
        name = "embed",
        mixinStandardHelpOptions = true,
        showDefaultValues = true,
        description = "Encoder features of every image in a folder, written as a .npy array (rows in the order of the "
                + "listing written beside it).")
final class EmbedCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Mixin
    EncoderWeightsOptions source = new EncoderWeightsOptions();

    @Option(
            names = "--img-size",
            description = "Resize images to this side (position tables follow); default: the weights'.")
    Integer imgSize;

    @Option(names = "--images", required = true, description = "A folder of JPEG/PNG images (sub-folders are classes).")
    Path images;

    @Option(names = "--out", required = true, description = "The .npy file to write.")
    Path out;

    @Option(names = "--output", description = "cls ([CLS] token), mean (mean of the patch tokens) or tokens (all).")
    String output = "cls";

    @Option(names = "--batch", description = "Images per call.")
    int batch = 64;

    @Option(names = "--device", description = "cpu, cuda or cuda:N.")
    String device = "cpu";

    @picocli.CommandLine.Mixin
    PreprocessingOptions preprocessing = new PreprocessingOptions();

    @Override
    public Integer call() throws Exception {
        Encoder.Output kind;
        try {
            kind = Encoder.Output.valueOf(output.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--output must be cls, mean or tokens, got " + output);
        }
        new OptionChecks(spec).positive("--batch", batch);
        Device dev = Device.parse(device);
        MaeConfig config;
        try {
            config = source.preset == null ? null : MaeConfig.preset(source.preset);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        try (Encoder probe = config == null ? Encoder.load(source.weights, dev) : null) {
            MaeConfig base = config != null ? config : probe.config();
            MaeConfig wanted =
                    imgSize == null ? base : base.toBuilder().imgSize(imgSize).build();
            boolean reuse = probe != null && wanted.equals(probe.config()) && batch <= probe.maxBatch();
            try (Encoder encoder = reuse ? probe : Encoder.load(source.weights, wanted, dev, batch)) {
                Preprocessing p = preprocessing.resolve(
                        encoder.preprocessing(),
                        source.weights,
                        spec.commandLine().getErr());
                ImageFolder folder = new ImageFolder(images, wanted.imgSize(), wanted.inChans(), p.mean(), p.std());
                List<Tensor> rows = new ArrayList<>();
                long[] rowShape = null;
                try {
                    for (int start = 0; start < folder.size(); start += batch) {
                        int n = Math.min(batch, folder.size() - start);
                        int[] idx = new int[n];
                        for (int i = 0; i < n; i++) idx[i] = start + i;
                        try (Tensor x = folder.batch(idx)) {
                            Tensor f = encoder.embed(x, kind);
                            rows.add(f);
                            long[] s = f.shape();
                            rowShape = java.util.Arrays.copyOfRange(s, 1, s.length);
                        }
                    }
                    Npy.write(out, rows, rowShape, rows.getFirst().dtype());
                } finally {
                    rows.forEach(Tensor::close);
                }
                Path listing = out.resolveSibling(out.getFileName().toString().replaceFirst("\\.npy$", "") + ".txt");
                StringBuilder lines = new StringBuilder();
                for (int i = 0; i < folder.size(); i++) {
                    int label = folder.label(i);
                    lines.append(folder.file(i))
                            .append('\t')
                            .append(label < 0 ? "" : folder.classes().get(label))
                            .append('\n');
                }
                Files.writeString(listing, lines, StandardCharsets.UTF_8);
                System.out.printf(
                        "wrote %s: %d × %s %s features (%d unreadable files skipped); %s lists the images%n",
                        out, folder.size(), java.util.Arrays.toString(rowShape), output, folder.skipped(), listing);
            }
        }
        return 0;
    }
}
