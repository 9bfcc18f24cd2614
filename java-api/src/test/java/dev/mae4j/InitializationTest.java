package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Initialisation as the reference's initialize_weights, checked by each tensor's bounds and spread. */
class InitializationTest {
    private static final MaeConfig CONFIG = MaeConfig.builder()
            .imgSize(32)
            .patchSize(4)
            .inChans(3)
            .embedDim(96)
            .depth(1)
            .numHeads(3)
            .decoderEmbedDim(64)
            .decoderDepth(1)
            .decoderNumHeads(4)
            .build();

    @Test
    void everyParameterFollowsTheReferenceScheme() {
        try (Model model = Model.create(CONFIG, Device.cpu(), 17)) {
            for (ParameterInfo p : model.parameters()) {
                double[] v;
                try (Tensor t = model.parameter(p.name())) {
                    v = t.toDoubleArray();
                }
                String name = p.name();
                long[] s = p.shape();
                if (name.endsWith("pos_embed")) continue; // PositionEmbeddingTest
                if (name.equals("cls_token") || name.equals("mask_token")) {
                    assertStd(v, 0.02, 0.35, name); // normal(0, 0.02); 96 or 64 samples
                } else if (name.equals("patch_embed.proj.weight")) {
                    assertXavier(v, s[1] * s[2] * s[3], s[0], name); // as a Linear on its [D, C·p·p] view
                } else if (name.equals("patch_embed.proj.bias")) {
                    double bound = 1 / Math.sqrt(3 * 4 * 4); // Conv2d's default: U(±1/√fan_in)
                    for (double x : v) assertTrue(Math.abs(x) <= bound, name);
                    assertTrue(std(v) > bound / 3, name + " is not the conv default init");
                } else if (name.endsWith("norm1.weight")
                        || name.endsWith("norm2.weight")
                        || name.endsWith("norm.weight")) {
                    for (double x : v) assertEquals(1.0, x, 0.0, name);
                } else if (s.length == 1) {
                    for (double x : v) assertEquals(0.0, x, 0.0, name); // Linear and LayerNorm biases
                } else {
                    assertXavier(v, s[1], s[0], name); // every Linear weight, qkv as one matrix
                }
            }
        }
    }

    @Test
    void theSeedDecidesTheWeights() {
        try (Model a = Model.create(CONFIG, Device.cpu(), 1);
                Model b = Model.create(CONFIG, Device.cpu(), 1);
                Model c = Model.create(CONFIG, Device.cpu(), 2);
                Tensor wa = a.parameter("blocks.0.attn.qkv.weight");
                Tensor wb = b.parameter("blocks.0.attn.qkv.weight");
                Tensor wc = c.parameter("blocks.0.attn.qkv.weight")) {
            assertEquals(-1, wa.segment().mismatch(wb.segment()));
            assertFalse(wa.segment().mismatch(wc.segment()) == -1);
        }
    }

    /** xavier_uniform: U(±√(6/(fan_in + fan_out))), whose standard deviation is bound/√3. */
    private static void assertXavier(double[] v, long fanIn, long fanOut, String name) {
        double bound = Math.sqrt(6.0 / (fanIn + fanOut));
        for (double x : v) assertTrue(Math.abs(x) <= bound, name + ": " + x + " outside ±" + bound);
        assertStd(v, bound / Math.sqrt(3), 0.1, name);
    }

    private static void assertStd(double[] v, double expected, double relTol, String name) {
        double sd = std(v);
        assertTrue(Math.abs(sd - expected) <= relTol * expected, name + ": std " + sd + ", expected " + expected);
    }

    private static double std(double[] v) {
        double mean = 0, sq = 0;
        for (double x : v) mean += x;
        mean /= v.length;
        for (double x : v) sq += (x - mean) * (x - mean);
        return Math.sqrt(sq / v.length);
    }
}
