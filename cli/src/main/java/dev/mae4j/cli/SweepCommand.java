package dev.mae4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * `mae sweep`: the paper's mask-ratio ablation on Fashion-MNIST — one `mae pretrain` per ratio, then a table
 * (sweep.md) and a plot (sweep.png) of the probes against the ratio.
 */
@Command(
        name = "sweep",
        mixinStandardHelpOptions = true,
        showDefaultValues = true,
        description = "Pretrain once per mask ratio and tabulate and plot the probes.")
final class SweepCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--mask-ratios", split = ",", description = "The ratios to compare.")
    List<Double> ratios = List.of(0.25, 0.5, 0.75, 0.9);

    @Option(names = "--out", description = "Output directory; each run goes to OUT/mask-RATIO.")
    Path out = Path.of("runs/sweep");

    @CommandLine.Parameters(
            arity = "0..*",
            paramLabel = "PRETRAIN-OPTION",
            description = "Options passed to every mae pretrain run (after --), e.g. -- --steps 1200.")
    List<String> pretrainOptions = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        for (double r : ratios)
            if (!(r >= 0 && r < 1))
                throw new ParameterException(spec.commandLine(), "mask ratios must be in [0, 1), got " + r);
        ObjectMapper json = new ObjectMapper();
        StringBuilder table = new StringBuilder(
                "| mask ratio | final loss | linear probe [CLS] | linear probe mean-pool | kNN [CLS] |"
                        + " untrained linear probe [CLS] |\n| --- | --- | --- | --- | --- | --- |\n");
        List<Double> xs = new ArrayList<>(), cls = new ArrayList<>(), mean = new ArrayList<>(), knn = new ArrayList<>();
        for (double r : ratios) {
            Path dir = out.resolve(String.format(Locale.ROOT, "mask-%.2f", r));
            List<String> args = new ArrayList<>(List.of("--mask-ratio", Double.toString(r), "--out", dir.toString()));
            args.addAll(pretrainOptions);
            System.out.printf("== mask ratio %.2f: mae pretrain %s%n", r, String.join(" ", args));
            int code = MaeCommand.commandLine(new PretrainCommand()).execute(args.toArray(String[]::new));
            if (code != 0) return code;
            JsonNode report = json.readTree(dir.resolve("report.json").toFile());
            List<String> lines = Files.readAllLines(dir.resolve("metrics.jsonl"), StandardCharsets.UTF_8);
            double loss = json.readTree(lines.get(lines.size() - 1)).get("loss").asDouble();
            xs.add(r);
            cls.add(100 * report.get("linear_probe_top1").asDouble());
            mean.add(100 * report.get("linear_probe_top1_mean_pool").asDouble());
            knn.add(100 * report.get("knn_top1").asDouble());
            table.append(String.format(
                    Locale.ROOT,
                    "| %.2f | %.4f | %.2f%% | %.2f%% | %.2f%% | %.2f%% |%n",
                    r,
                    loss,
                    cls.get(cls.size() - 1),
                    mean.get(mean.size() - 1),
                    knn.get(knn.size() - 1),
                    100 * report.get("linear_probe_top1_random_init").asDouble()));
        }
        Files.writeString(out.resolve("sweep.md"), table.toString(), StandardCharsets.UTF_8);
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder()
                .width(800)
                .height(500)
                .title("Probe accuracy against mask ratio")
                .xAxisTitle("mask ratio")
                .yAxisTitle("top-1 (%)")
                .build();
        chart.addSeries("linear probe [CLS]", xs, cls);
        chart.addSeries("linear probe mean-pool", xs, mean);
        chart.addSeries("kNN [CLS]", xs, knn);
        BitmapEncoder.saveBitmap(chart, out.resolve("sweep.png").toString(), BitmapEncoder.BitmapFormat.PNG);
        System.out.print(table);
        System.out.println("wrote " + out.resolve("sweep.md") + " and " + out.resolve("sweep.png"));
        return 0;
    }
}
