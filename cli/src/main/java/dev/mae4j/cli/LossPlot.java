package dev.mae4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** loss.png: the training loss of metrics.jsonl against the update. */
final class LossPlot {
    private LossPlot() {}

    static void write(Path metricsJsonl, Path png) throws IOException {
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
        XYChart chart = new XYChartBuilder().width(800).height(500).title("MAE pretraining loss")
                .xAxisTitle("update").yAxisTitle("loss (removed patches)").build();
        chart.getStyler().setLegendVisible(false);
        chart.addSeries("loss", steps, losses).setMarker(SeriesMarkers.NONE);
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
