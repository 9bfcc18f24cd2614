package dev.mae4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RandomErasingTest {
    /** Hands out the given doubles, and for nextInt(bound) the largest value, bound − 1. */
    private static Random scripted(Double... doubles) {
        ArrayDeque<Double> queue = new ArrayDeque<>(List.of(doubles));
        return new Random() {
            @Override
            public double nextDouble() {
                return queue.remove();
            }

            @Override
            public int nextInt(int bound) {
                return bound - 1;
            }
        };
    }

    @Test
    void aBoxIsDrawnAsTimmDrawsIt() {
        // 28 × 28: area fraction 0.02 + 0.5 · (1/3 − 0.02) = 0.17667 of 784 = 138.51 pixels, aspect e^0 = 1,
        // so 12 × 12 (√138.51 = 11.77); top and left at their largest, 28 − 12 = 16.
        RandomErasing erasing = RandomErasing.withProbability(0.25);
        assertArrayEquals(new int[] {16, 16, 12, 12}, erasing.box(28, 28, scripted(0.1, 0.5, 0.5)));
        // aspect at its largest, 1/0.3, and the smallest area, 15.68 pixels: h = round(√(15.68/0.3)) = 7,
        // w = round(√(15.68·0.3)) = 2
        assertArrayEquals(new int[] {21, 26, 7, 2}, erasing.box(28, 28, scripted(0.1, 0.0, 1.0)));
    }

    @Test
    void theProbabilityDecidesWhetherAnImageIsErased() {
        RandomErasing erasing = RandomErasing.withProbability(0.25);
        assertNull(erasing.box(28, 28, scripted(0.25)));
        assertNull(RandomErasing.withProbability(0).box(28, 28, scripted(0.0)));
        double[] boxes = erasing.sample(4000, 28, 28, new Random(3));
        int erased = 0;
        for (int i = 0; i < 4000; i++) if (boxes[4 * i + 2] > 0) erased++;
        assertTrue(erased > 900 && erased < 1100, erased + " of 4000 erased at probability 0.25");
    }

    @Test
    void boxesLieInsideTheImageAndTheirAreaRange() {
        double[] boxes = RandomErasing.withProbability(1).sample(2000, 28, 28, new Random(1));
        for (int i = 0; i < 2000; i++) {
            double top = boxes[4 * i], left = boxes[4 * i + 1], h = boxes[4 * i + 2], w = boxes[4 * i + 3];
            assertTrue(h > 0 && w > 0, "image " + i + " not erased at probability 1");
            assertTrue(h < 28 && w < 28 && top + h <= 28 && left + w <= 28, "box " + i + " leaves the image");
            double area = h * w / 784;
            // rounding to whole pixels widens the 0.02–1/3 range a little on a 28-pixel image
            assertTrue(area > 0.01 && area < 0.4, "area " + area);
        }
    }

    @Test
    void noBoxWhenTenTriesDoNotFit() {
        // a 4 × 4 image and only the largest area and aspect: h = round(√(16/3 · 10/3)) = 4, not less than 4
        RandomErasing erasing = new RandomErasing(1, 1.0 / 3, 1.0 / 3, 1 / 0.3, 1 / 0.3);
        assertNull(erasing.box(4, 4, new Random(0)));
        assertArrayEquals(new double[8], erasing.sample(2, 4, 4, new Random(0)));
    }

    @Test
    void theSeedDecidesTheBoxes() {
        RandomErasing erasing = RandomErasing.withProbability(0.5);
        assertArrayEquals(erasing.sample(50, 28, 28, new Random(7)), erasing.sample(50, 28, 28, new Random(7)));
        assertEquals(200, erasing.sample(50, 28, 28, new Random(7)).length);
    }

    @Test
    void badSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> RandomErasing.withProbability(1.5));
        assertThrows(IllegalArgumentException.class, () -> RandomErasing.withProbability(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> new RandomErasing(0.5, 0.4, 0.2, 0.3, 3));
        assertThrows(IllegalArgumentException.class, () -> new RandomErasing(0.5, 0.02, 0.3, 0, 3));
    }
}
