package dev.mae4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LossPlotTest {
    @TempDir
    Path dir;

    @Test
    void plotsTheLossAndARightHandCurve() throws IOException {
        Path metrics = dir.resolve("metrics.jsonl");
        Files.writeString(metrics, """
                {"step":50,"epoch":0.5,"loss":2.3}
                {"step":100,"epoch":1.0,"loss":1.1}

                {"step":150,"epoch":1.5,"loss":0.8}
                """);
        Path plain = dir.resolve("plain.png"), both = dir.resolve("both.png");
        LossPlot.writePretraining(metrics, plain);
        LossPlot.write(
                metrics,
                both,
                "Fine-tuning",
                "cross-entropy",
                new LossPlot.Curve("test top-1 (%)", List.of(100.0, 150.0), List.of(81.0, 88.5)));
        BufferedImage a = ImageIO.read(plain.toFile()), b = ImageIO.read(both.toFile());
        assertEquals(800, a.getWidth());
        assertEquals(500, b.getHeight());
        // The second curve is drawn in the theme's second colour (orange), which the loss-only plot lacks.
        assertEquals(0, orangePixels(a));
        assertTrue(orangePixels(b) > 400, "orange pixels: " + orangePixels(b));
    }

    private static int orangePixels(BufferedImage image) {
        int count = 0;
        for (int y = 0; y < image.getHeight(); y++)
            for (int x = 0; x < image.getWidth(); x++) {
                int rgb = image.getRGB(x, y), r = rgb >> 16 & 0xff, g = rgb >> 8 & 0xff, b = rgb & 0xff;
                if (r > 200 && g > 120 && g < 215 && b < 110) count++;
            }
        return count;
    }

    @Test
    void refusesMetricsWithoutSteps() throws IOException {
        Path metrics = Files.writeString(dir.resolve("metrics.jsonl"), "\n");
        IOException e =
                assertThrows(IOException.class, () -> LossPlot.writePretraining(metrics, dir.resolve("loss.png")));
        assertTrue(e.getMessage().contains("no logged steps"), e.getMessage());
    }
}
