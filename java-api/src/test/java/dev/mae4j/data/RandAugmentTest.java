package dev.mae4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** timm's RandAugment configuration strings, level functions and draws, worked out by hand. */
class RandAugmentTest {
    @Test
    void readsTimmsConfigurationStrings() {
        assertEquals(new RandAugment(2, 9, 0.5, 10, true), RandAugment.parse("rand-m9-mstd0.5-inc1"));
        assertEquals(RandAugment.parse("rand-m9-mstd0.5-inc1"), RandAugment.reference());
        assertEquals(new RandAugment(2, 10, 0, 10, false), RandAugment.parse("rand"), "timm's defaults");
        assertEquals(
                new RandAugment(3, 7, Double.POSITIVE_INFINITY, 12, false),
                RandAugment.parse("rand-n3-m7-mstd101-mmax12-inc0"));
        assertEquals(
                RandAugment.parse("rand-m9"), RandAugment.parse("rand-m9-x"), "timm skips sections without a number");
        for (String bad : List.of("augmix-m9", "rand-q3", "rand-m9.5", "rand-mstdx1", "rand-w0"))
            assertThrows(IllegalArgumentException.class, () -> RandAugment.parse(bad), bad);
    }

    /** A Random whose nextDouble is always v: decides timm's random negation (negated when above 0.5). */
    private static Random fixed(double v) {
        return new Random() {
            @Override
            public double nextDouble() {
                return v;
            }
        };
    }

    @Test
    void levelsAreTimmsAtMagnitudeNine() {
        RandAugment inc = RandAugment.reference(), plain = RandAugment.parse("rand-m9");
        Random keep = fixed(0.2), negate = fixed(0.7);
        assertEquals(27.0, inc.argument(RandAugment.Op.ROTATE, 9, keep), 1e-12);
        assertEquals(-27.0, inc.argument(RandAugment.Op.ROTATE, 9, negate), 1e-12);
        assertEquals(1, inc.argument(RandAugment.Op.POSTERIZE, 9, keep), "4 − int(3.6)");
        assertEquals(3, plain.argument(RandAugment.Op.POSTERIZE, 9, keep), "int(3.6)");
        assertEquals(26, inc.argument(RandAugment.Op.SOLARIZE, 9, keep), "256 − int(230.4)");
        assertEquals(230, plain.argument(RandAugment.Op.SOLARIZE, 9, keep));
        assertEquals(99, inc.argument(RandAugment.Op.SOLARIZE_ADD, 9, keep), "int(99.0)");
        assertEquals(1.81, inc.argument(RandAugment.Op.CONTRAST, 9, keep), 1e-12);
        assertEquals(0.19, inc.argument(RandAugment.Op.CONTRAST, 9, negate), 1e-12);
        assertEquals(0.1, inc.argument(RandAugment.Op.COLOR, 10, negate), 1e-12, "max(0.1, 1 − 0.9)");
        assertEquals(
                1.72, plain.argument(RandAugment.Op.SHARPNESS, 9, negate), 1e-12, "9/10 · 1.8 + 0.1, never negated");
        assertEquals(-0.27, inc.argument(RandAugment.Op.SHEAR_Y, 9, negate), 1e-12);
        assertEquals(0.405, inc.argument(RandAugment.Op.TRANSLATE_X_REL, 9, keep), 1e-12);
        assertEquals(0, inc.argument(RandAugment.Op.EQUALIZE, 9, keep));
    }

    @Test
    void drawsHalfTheOperationsUniformlyWithMagnitudesAroundNine() {
        RandAugment ra = RandAugment.reference();
        int n = 60_000;
        List<List<RandAugment.Step>> plans = ra.draw(n, new Random(3));
        int[] stepsPerImage = new int[3];
        Map<RandAugment.Op, Integer> count = new EnumMap<>(RandAugment.Op.class);
        double rotation = 0;
        int rotations = 0;
        for (List<RandAugment.Step> p : plans) {
            stepsPerImage[p.size()]++;
            for (RandAugment.Step s : p) {
                count.merge(s.op(), 1, Integer::sum);
                if (s.op() == RandAugment.Op.ROTATE) {
                    rotation += Math.abs(s.arg());
                    rotations++;
                    assertTrue(Math.abs(s.arg()) <= 30, "clipped to magnitude 10");
                }
            }
        }
        // each of 2 layers applied with probability ½: 0, 1, 2 steps with ¼, ½, ¼
        assertEquals(0.25, stepsPerImage[0] / (double) n, 0.01);
        assertEquals(0.50, stepsPerImage[1] / (double) n, 0.01);
        assertEquals(0.25, stepsPerImage[2] / (double) n, 0.01);
        for (RandAugment.Op op : RandAugment.Op.values())
            assertEquals(1.0 / 15, count.getOrDefault(op, 0) / (double) n, 0.006, op + " is one of 15");
        // |degrees| = 3 · clip(N(9, 0.5), 0, 10): mean 27 less a little for the clipped tail
        assertEquals(26.99, rotation / rotations, 0.1);
    }

    @Test
    void geometricStepsAreImageTransformCoefficients() {
        assertArrayEquals(
                new double[] {1, 0.2, 0, 0, 1, 0},
                RandAugment.affineCoefficients(new RandAugment.Step(RandAugment.Op.SHEAR_X, 0.2), 10, 8));
        assertArrayEquals(
                new double[] {1, 0, 0, 0, 1, -3.2},
                RandAugment.affineCoefficients(new RandAugment.Step(RandAugment.Op.TRANSLATE_Y_REL, -0.4), 10, 8),
                1e-15);
        // a quarter turn of a 10 × 8 image about its centre (5, 4): output (x, y) reads input (5 − (y − 4), 4 + (x −
        // 5))
        // for PIL's counter-clockwise angle
        assertArrayEquals(
                new double[] {0, -1, 9, 1, 0, -1},
                RandAugment.affineCoefficients(new RandAugment.Step(RandAugment.Op.ROTATE, 90), 10, 8),
                1e-12);
        assertArrayEquals(
                RandAugment.affineCoefficients(new RandAugment.Step(RandAugment.Op.ROTATE, -270), 10, 8),
                RandAugment.affineCoefficients(new RandAugment.Step(RandAugment.Op.ROTATE, 90), 10, 8),
                "modulo 360");
        assertEquals(null, RandAugment.affineCoefficients(new RandAugment.Step(RandAugment.Op.INVERT, 0), 10, 8));
    }
}
