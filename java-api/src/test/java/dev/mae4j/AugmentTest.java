package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mae4j.data.Mixup;
import org.junit.jupiter.api.Test;

/** Batched crops, resizes and flips against values worked out by hand. */
class AugmentTest {
    /** One 8×8 grey image whose pixel (y, x) is 10·y + x. */
    private static Tensor grid() {
        float[] v = new float[64];
        for (int y = 0; y < 8; y++) for (int x = 0; x < 8; x++) v[y * 8 + x] = 10 * y + x;
        return Tensor.fromFloats(v, 1, 1, 8, 8);
    }

    @Test
    void aCropOfTheOutputSizeIsCopiedExactly() {
        try (Tensor img = grid();
                Tensor out = Augment.resizedCrops(img, new double[] {2, 3, 4, 4, 0}, 4)) {
            float[] expected = new float[16];
            for (int y = 0; y < 4; y++) for (int x = 0; x < 4; x++) expected[y * 4 + x] = 10 * (y + 2) + (x + 3);
            assertArrayEquals(expected, out.toFloatArray(), 1e-4f);
        }
    }

    @Test
    void aFlipMirrorsTheColumns() {
        try (Tensor img = grid();
                Tensor out = Augment.resizedCrops(img, new double[] {0, 0, 8, 8, 1}, 8)) {
            float[] o = out.toFloatArray();
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++) assertTrue(Math.abs(o[y * 8 + x] - (10 * y + 7 - x)) < 1e-4);
        }
    }

    @Test
    void upscalingInterpolatesBilinearlyBetweenPixelCentres() {
        // Row 0, columns 0..1 (values 0 and 1) to 4 samples at source x = −0.25, 0.25, 0.75, 1.25: clamped at
        // the borders, so 0, 0.25, 0.75, 1. Rows likewise: 0, 2.5, 7.5, 10.
        try (Tensor img = grid();
                Tensor out = Augment.resizedCrops(img, new double[] {0, 0, 2, 2, 0}, 4)) {
            float[] cols = {0, 0.25f, 0.75f, 1}, rows = {0, 2.5f, 7.5f, 10};
            float[] expected = new float[16];
            for (int y = 0; y < 4; y++) for (int x = 0; x < 4; x++) expected[y * 4 + x] = rows[y] + cols[x];
            assertArrayEquals(expected, out.toFloatArray(), 1e-4f);
        }
    }

    @Test
    void eachImageGetsItsOwnBox() {
        float[] two = new float[2 * 64];
        for (int i = 0; i < 64; i++) {
            two[i] = i;
            two[64 + i] = 100 + i;
        }
        try (Tensor img = Tensor.fromFloats(two, 2, 1, 8, 8);
                Tensor out = Augment.resizedCrops(img, new double[] {0, 0, 1, 1, 0, 7, 7, 1, 1, 0}, 1)) {
            assertArrayEquals(new float[] {0, 163}, out.toFloatArray(), 1e-4f);
        }
    }

    @Test
    void badBoxesAreRefused() {
        try (Tensor img = grid()) {
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "boxes must lie inside the 8 × 8 images",
                    () -> Augment.resizedCrops(img, new double[] {0, 0, 9, 8, 0}, 4));
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "box heights and widths must be positive",
                    () -> Augment.resizedCrops(img, new double[] {0, 0, 0, 8, 0}, 4));
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "flip must be 0 or 1",
                    () -> Augment.resizedCrops(img, new double[] {0, 0, 8, 8, 0.5}, 4));
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "boxes must hold 5 values per image",
                    () -> Augment.resizedCrops(img, new double[] {0, 0, 8, 8}, 4));
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "size must be positive, got 0",
                    () -> Augment.resizedCrops(img, new double[] {0, 0, 8, 8, 0}, 0));
        }
    }

    @Test
    void erasingFillsOnlyTheBoxWithStandardNormalNoise() {
        // two 32 × 32 images of 5s; image 0 erased at rows 4..27, columns 8..23 (24 × 16), image 1 not at all
        float[] fives = new float[2 * 32 * 32];
        java.util.Arrays.fill(fives, 5f);
        try (Tensor img = Tensor.fromFloats(fives, 2, 1, 32, 32);
                Tensor out = Augment.erase(img, new double[] {4, 8, 24, 16, 0, 0, 0, 0}, 11)) {
            float[] o = out.toFloatArray();
            double sum = 0, squares = 0;
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) {
                    float v = o[y * 32 + x];
                    boolean inside = y >= 4 && y < 28 && x >= 8 && x < 24;
                    if (!inside) assertEquals(5f, v, "image 0 at " + y + ", " + x + " is outside the box");
                    else {
                        assertNotEquals(5f, v);
                        sum += v;
                        squares += v * v;
                    }
                    assertEquals(5f, o[1024 + y * 32 + x], "image 1 has an empty box");
                }
            double mean = sum / 384, sd = Math.sqrt(squares / 384 - mean * mean);
            assertTrue(Math.abs(mean) < 0.2 && Math.abs(sd - 1) < 0.15, "noise mean " + mean + ", sd " + sd);
            assertEquals(5f, img.toFloatArray()[4 * 32 + 8], "the input is left as it was");
        }
    }

    @Test
    void erasingNoiseFollowsTheSeed() {
        try (Tensor img = grid();
                Tensor a = Augment.erase(img, new double[] {1, 1, 6, 6}, 3);
                Tensor b = Augment.erase(img, new double[] {1, 1, 6, 6}, 3);
                Tensor c = Augment.erase(img, new double[] {1, 1, 6, 6}, 4)) {
            assertArrayEquals(a.toFloatArray(), b.toFloatArray());
            assertFalse(java.util.Arrays.equals(a.toFloatArray(), c.toFloatArray()));
        }
    }

    @Test
    void badErasingBoxesAreRefused() {
        try (Tensor img = grid()) {
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "boxes must lie inside the 8 × 8 images",
                    () -> Augment.erase(img, new double[] {2, 0, 7, 3}, 0)); // below
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "boxes must hold whole pixel counts",
                    () -> Augment.erase(img, new double[] {0, 0, 2.5, 3}, 0));
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "boxes must not be negative",
                    () -> Augment.erase(img, new double[] {-1, 0, 2, 3}, 0));
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "boxes must hold 4 values per image",
                    () -> Augment.erase(img, new double[] {0, 0, 2}, 0));
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "boxes must hold whole pixel counts",
                    () -> Augment.erase(img, new double[] {0, 0, Double.NaN, 2}, 0));
            try (Tensor flat = Tensor.fromFloats(new float[4], 4)) {
                TestData.assertRefused(
                        IllegalArgumentException.class,
                        "images must be [N, C, H, W]",
                        () -> Augment.erase(flat, new double[] {0, 0, 1, 1}, 0));
            }
        }
    }

    @Test
    void mixupBlendsEachImageWithItsMirror() {
        // three 4 × 4 images of 1s, 2s and 3s; lam 0.25: 0.25·1 + 0.75·3, 2 (its own mirror), 0.25·3 + 0.75·1
        try (Tensor img = constants(1, 2, 3);
                Tensor out = new Mixup.Mix(0.25, null).apply(img)) {
            float[] o = out.toFloatArray();
            for (int k = 0; k < 16; k++) {
                assertEquals(2.5f, o[k], 1e-6f);
                assertEquals(2f, o[16 + k], 1e-6f);
                assertEquals(1.5f, o[32 + k], 1e-6f);
            }
        }
    }

    @Test
    void cutmixPastesTheMirrorsBox() {
        // box rows 1..2, columns 1..3 (top 1, left 1, 2 × 3) from image 2 − i
        try (Tensor img = constants(1, 2, 3);
                Tensor out = new Mixup.Mix(1 - 6.0 / 16, new int[] {1, 1, 2, 3}).apply(img)) {
            float[] o = out.toFloatArray();
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 4; x++) {
                    boolean inside = y >= 1 && y < 3 && x >= 1 && x < 4;
                    assertEquals(inside ? 3f : 1f, o[y * 4 + x], "image 0 at " + y + ", " + x);
                    assertEquals(2f, o[16 + y * 4 + x], "image 1 is its own mirror");
                    assertEquals(inside ? 1f : 3f, o[32 + y * 4 + x], "image 2 at " + y + ", " + x);
                }
            TestData.assertRefused(
                    IllegalArgumentException.class,
                    "the box (top 2, left 2, 3 × 1) must lie inside the 4 × 4 images",
                    () -> new Mixup.Mix(0.5, new int[] {2, 2, 3, 1}).apply(img));
        }
    }

    private static Tensor constants(float... values) {
        float[] v = new float[values.length * 16];
        for (int i = 0; i < v.length; i++) v[i] = values[i / 16];
        return Tensor.fromFloats(v, values.length, 1, 4, 4);
    }
}
