package dev.mae4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** loss.png: the training loss of metrics.jsonl against the update, and optionally a second curve on its own axis. */
final class LossPlot {
    private LossPlot() {}

    /** A curve drawn against the right-hand axis, e.g. test top-1 after each epoch; x in updates. */
    record Curve(String name, List<Double> updates, List<Double> values) {}

    /** The pretraining loss: mean squared error over the removed patches. */
    static void writePretraining(Path metricsJsonl, Path png) throws IOException {
        write(metricsJsonl, png, "MAE pretraining loss", "loss (removed patches)", null);
    }

    static void write(Path metricsJsonl, Path png, String title, String lossAxis, Curve right) throws IOException {
        System.setProperty("java.awt.headless", "true");
        ObjectMapper json = new ObjectMapper();
        List<Double> steps = new ArrayList<>(), losses = new ArrayList<>();
        for (String line : Files.readAllLines(metricsJsonl, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            JsonNode row = json.readTree(line);
            steps.add(row.get("step").asDouble());
            losses.add(row.get("loss").asDouble());
        }
        if (steps.isEmpty()) throw new IOException(metricsJsonl + " holds no logged steps to plot");
        XYChart chart = new XYChartBuilder()
                .width(800)
                .height(500)
                .title(title)
                .xAxisTitle("update")
                .yAxisTitle(lossAxis)
                .build();
        chart.addSeries("training loss", steps, losses).setMarker(SeriesMarkers.NONE);
        // Below the plot: the loss falls from the top left, a curve such as accuracy rises to the top right.
        boolean second = right != null && !right.updates().isEmpty();
        chart.getStyler().setLegendVisible(second).setLegendPosition(Styler.LegendPosition.OutsideS);
        if (second) {
            XYSeries curve = chart.addSeries(right.name(), right.updates(), right.values());
            curve.setMarker(SeriesMarkers.CIRCLE);
            curve.setYAxisGroup(1);
            chart.setYAxisGroupTitle(1, right.name());
            chart.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
        }
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
