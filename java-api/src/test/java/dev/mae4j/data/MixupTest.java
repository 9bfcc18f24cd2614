package dev.mae4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class MixupTest {
    /** nextInt(bound) always answers the given value (clipped to the bound). */
    private static Random centreAt(int value) {
        return new Random() {
            @Override
            public int nextInt(int bound) {
                return Math.min(value, bound - 1);
            }
        };
    }

    @Test
    void aCutMixBoxIsDrawnAsTimmDrawsIt() {
        // lam 0.75 on 28 × 28: sides int(28 · √0.25) = 14; centre (14, 14): rows and columns 7..20, lam stays 0.75
        Mixup.Mix inside = Mixup.cutBox(28, 28, 0.75, centreAt(14));
        assertArrayEquals(new int[] {7, 7, 14, 14}, inside.box());
        assertEquals(0.75, inside.lam(), 1e-12);
        // centre (27, 27): the box runs 20..34, clipped to 20..27, so 8 × 8 and lam corrected to 1 − 64/784
        Mixup.Mix clipped = Mixup.cutBox(28, 28, 0.75, centreAt(27));
        assertArrayEquals(new int[] {20, 20, 8, 8}, clipped.box());
        assertEquals(1 - 64.0 / 784, clipped.lam(), 1e-12);
    }

    @Test
    void targetsMixTheSmoothedOneHotRowsOfEachImageAndItsMirror() {
        // K = 3, smoothing 0.3: off 0.1, on 0.8; image i is paired with image 2 − i
        float[] t = Mixup.targets(new long[] {0, 2, 1}, 3, 0.7, 0.3);
        float[] expected = {
            0.7f * 0.8f + 0.3f * 0.1f,
            0.7f * 0.1f + 0.3f * 0.8f,
            0.1f, // own 0, paired 1
            0.1f,
            0.1f,
            0.8f, // own 2, paired with itself
            0.7f * 0.1f + 0.3f * 0.8f,
            0.7f * 0.8f + 0.3f * 0.1f,
            0.1f, // own 1, paired 0
        };
        assertArrayEquals(expected, t, 1e-6f);
        assertThrows(IllegalArgumentException.class, () -> Mixup.targets(new long[] {3}, 3, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> Mixup.targets(new long[] {0}, 3, 1.5, 0));
    }

    @Test
    void theSettingsChooseTheKindOfMix() {
        Random random = new Random(9);
        for (int i = 0; i < 50; i++) {
            assertEquals(1.0, new Mixup(0.8, 1.0, 0, 0.5).draw(28, 28, random).lam(), "probability 0");
            assertNull(Mixup.withAlphas(0.8, 0).draw(28, 28, random).box(), "Mixup only");
            assertTrue(Mixup.withAlphas(0, 1.0).draw(28, 28, random).isCutMix(), "CutMix only");
            assertTrue(new Mixup(0.8, 1.0, 1, 1).draw(28, 28, random).isCutMix(), "switch probability 1");
            assertNull(new Mixup(0.8, 1.0, 1, 0).draw(28, 28, random).box(), "switch probability 0");
        }
        Mixup.Mix none = Mixup.withAlphas(0, 0).draw(28, 28, random);
        assertEquals(1, none.lam());
        assertNull(none.box());
    }

    @Test
    void mixupLamFollowsBetaOfAlpha() {
        // Beta(0.8, 0.8): mean 1/2, variance 1 / (4 (2α + 1)) = 0.0962; Beta(1, 1) is uniform, variance 1/12
        for (double alpha : new double[] {0.8, 1.0}) {
            Mixup mixup = Mixup.withAlphas(alpha, 0);
            Random random = new Random(4);
            double sum = 0, squares = 0;
            int n = 20000;
            for (int i = 0; i < n; i++) {
                double lam = mixup.draw(28, 28, random).lam();
                assertTrue(lam >= 0 && lam <= 1);
                sum += lam;
                squares += lam * lam;
            }
            double mean = sum / n, variance = squares / n - mean * mean;
            assertEquals(0.5, mean, 0.01, "alpha " + alpha);
            assertEquals(1 / (4 * (2 * alpha + 1)), variance, 0.004, "alpha " + alpha);
        }
    }

    @Test
    void theSeedDecidesTheMix() {
        Mixup mixup = Mixup.withAlphas(0.8, 1.0);
        for (int i = 0; i < 20; i++) {
            Mixup.Mix a = mixup.draw(28, 28, new Random(i)), b = mixup.draw(28, 28, new Random(i));
            assertEquals(a.lam(), b.lam());
            assertArrayEquals(a.box(), b.box());
        }
    }

    @Test
    void badSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Mixup.withAlphas(-1, 0));
        assertThrows(IllegalArgumentException.class, () -> Mixup.withAlphas(Double.POSITIVE_INFINITY, 0));
        assertThrows(IllegalArgumentException.class, () -> new Mixup(0.8, 0, 1.5, 0.5));
        assertThrows(IllegalArgumentException.class, () -> new Mixup.Mix(0.5, new int[3]));
        assertThrows(IllegalArgumentException.class, () -> new Mixup.Mix(-0.1, null));
    }
}
