package dev.mae4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mae4j.Device;
import dev.mae4j.Model;
import dev.mae4j.data.IdxImages;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

/** `mae linprobe`: linear probe and kNN of a checkpoint's frozen features on Fashion-MNIST. */
@Command(name = "linprobe", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = "Linear probe (BatchNorm without affine + linear head) and kNN on frozen encoder features.")
final class LinprobeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--weights", required = true, description = "A checkpoint written by mae pretrain (last.safetensors).")
    Path weights;

    @Option(names = "--data", description = "Directory with the Fashion-MNIST IDX files.")
    Path data = IdxImages.DEBIAN_FASHION_MNIST;

    @Option(names = "--out", description = "Where to write the report (JSON); standard output only when absent.")
    Path out;

    @Mixin
    ProbeOptions probe = new ProbeOptions();

    @Option(names = "--seed", description = "Seed of the probe and of the untrained encoder it is compared with.")
    long seed = 0;

    @Override
    public Integer call() throws Exception {
        if (probe.problem() != null) throw new ParameterException(spec.commandLine(), probe.problem());
        IdxImages train = IdxImages.readSplit(data, "train"), test = IdxImages.readSplit(data, "t10k");
        try (Model model = Model.load(weights, Device.cpu())) {
            Map<String, Object> report = ProbeEvaluation.run(model, train, test, PretrainCommand.MEAN, PretrainCommand.STD, probe, seed);
            ObjectMapper json = new ObjectMapper();
            System.out.println(json.writerWithDefaultPrettyPrinter().writeValueAsString(report));
            if (out != null) json.writerWithDefaultPrettyPrinter().writeValue(out.toFile(), report);
        }
        return 0;
    }
}
