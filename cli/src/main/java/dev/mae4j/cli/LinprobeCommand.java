package dev.mae4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mae4j.Device;
import dev.mae4j.Model;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** `mae linprobe`: linear probe and kNN of a checkpoint's frozen features on Fashion-MNIST, labelled folders or shards. */
@Command(
        name = "linprobe",
        mixinStandardHelpOptions = true,
        showDefaultValues = true,
        description = "Linear probe (BatchNorm without affine + linear head) and kNN on frozen encoder features.")
final class LinprobeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--weights",
            required = true,
            description = "A checkpoint written by mae pretrain (last.safetensors).")
    Path weights;

    @Mixin
    LabelledData data = new LabelledData();

    @Option(names = "--out", description = "Where to write the report (JSON); standard output only when absent.")
    Path out;

    @Mixin
    ProbeOptions probe = new ProbeOptions();

    @Option(names = "--seed", description = "Seed of the probe and of the untrained encoder it is compared with.")
    long seed = 0;

    @Override
    public Integer call() throws Exception {
        new OptionChecks(spec).problem(probe.problem()).problem(data.problem());
        try (Model model = Model.load(weights, Device.cpu())) {
            LabelledData.Splits splits = data.open(
                    model.config().inChans(),
                    model.config().imgSize(),
                    data.forWeights(
                            model.preprocessing(), weights, spec.commandLine().getErr()));
            Map<String, Object> report =
                    ProbeEvaluation.run(model, splits.train(), splits.test(), data.sortedByClass(), probe, seed);
            ObjectMapper json = new ObjectMapper();
            System.out.println(json.writerWithDefaultPrettyPrinter().writeValueAsString(report));
            if (out != null) json.writerWithDefaultPrettyPrinter().writeValue(out.toFile(), report);
        }
        return 0;
    }
}
