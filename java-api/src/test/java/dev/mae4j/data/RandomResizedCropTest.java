package dev.mae4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class RandomResizedCropTest {
    @Test
    void boxesFitTheImageAndTheirAreaAndRatioRanges() {
        RandomResizedCrop rrc = RandomResizedCrop.mae();
        double[] boxes = rrc.sample(2000, 28, 28, new Random(1));
        int flips = 0;
        for (int i = 0; i < 2000; i++) {
            double top = boxes[5 * i], left = boxes[5 * i + 1], h = boxes[5 * i + 2], w = boxes[5 * i + 3];
            assertTrue(top >= 0 && left >= 0 && top + h <= 28 && left + w <= 28, "box " + i + " leaves the image");
            double area = h * w / (28.0 * 28), ratio = w / h;
            // rounding to whole pixels widens the ranges a little on a 28-pixel image
            assertTrue(area > 0.15 && area <= 1.0, "area " + area);
            assertTrue(ratio > 0.6 && ratio < 1.6, "ratio " + ratio);
            flips += (int) boxes[5 * i + 4];
        }
        assertTrue(flips > 900 && flips < 1100, flips + " flips of 2000");
    }

    @Test
    void impossibleRatiosFallBackToTheCentreCrop() {
        // only ratios 2..3 allowed and the whole area asked for: no box fits, so the centre crop of ratio 2
        RandomResizedCrop wide = new RandomResizedCrop(1.0, 1.0, 2.0, 3.0, 0);
        assertArrayEquals(new int[] {5, 0, 10, 20}, wide.box(20, 20, new Random(0)));
    }

    @Test
    void theSeedDecidesTheBoxes() {
        RandomResizedCrop rrc = RandomResizedCrop.mae();
        assertArrayEquals(rrc.sample(10, 28, 28, new Random(5)), rrc.sample(10, 28, 28, new Random(5)));
    }

    @Test
    void eachImageGetsBoxesOfItsOwnExtent() {
        RandomResizedCrop rrc = RandomResizedCrop.mae();
        int[] heights = {24, 300, 24, 7}, widths = {40, 50, 40, 700};
        double[] boxes = rrc.sample(heights, widths, new Random(3));
        for (int i = 0; i < heights.length; i++) {
            double top = boxes[5 * i], left = boxes[5 * i + 1], h = boxes[5 * i + 2], w = boxes[5 * i + 3];
            assertTrue(top >= 0 && left >= 0 && top + h <= heights[i] && left + w <= widths[i], "box " + i);
        }
        // images of one size draw exactly what the single-size form draws
        assertArrayEquals(
                rrc.sample(3, 24, 40, new Random(9)),
                rrc.sample(new int[] {24, 24, 24}, new int[] {40, 40, 40}, new Random(9)));
    }
}
