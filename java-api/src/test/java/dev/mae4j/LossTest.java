package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

/**
 * The loss with a constant prediction (decoder_pred weight 0, bias 0): then it is the mean of the squared
 * targets over removed patches, which can be worked out by hand.
 */
class LossTest {
    private static MaeConfig config(boolean normPix) {
        return MaeConfig.builder()
                .imgSize(4)
                .patchSize(2)
                .inChans(1)
                .embedDim(8)
                .depth(1)
                .numHeads(2)
                .decoderEmbedDim(8)
                .decoderDepth(1)
                .decoderNumHeads(2)
                .normPixLoss(normPix)
                .precision(DType.F64)
                .build();
    }

    /** A 4×4 image whose every 2×2 patch holds 1, 2 (top row) and 3, 4 (bottom row). */
    private static double[] patchesOfOneToFour() {
        double[] img = new double[16];
        for (int y = 0; y < 4; y++) for (int x = 0; x < 4; x++) img[y * 4 + x] = 1 + (y % 2) * 2 + (x % 2);
        return img;
    }

    private static void zeroPrediction(Model model) {
        try (Tensor w = Tensor.zeros(DType.F64, 4, 8);
                Tensor b = Tensor.zeros(DType.F64, 4)) {
            model.setParameter("decoder_pred.weight", w);
            model.setParameter("decoder_pred.bias", b);
        }
    }

    private static double loss(Model model, double[] img, double[] noise) {
        try (Tensor images = Tensor.fromDoubles(img, 1, 1, 4, 4);
                Tensor n = Tensor.fromDoubles(noise, 1, 4);
                Masker masker = Masker.fromNoise(n, 0.5);
                ForwardResult r = model.forward(images, masker)) {
            return r.loss();
        }
    }

    @Test
    void normPixTargetIsThePatchNormalisedByItsMeanAndUnbiasedVariance() {
        try (Model model = Model.create(config(true), Device.cpu(), 0)) {
            zeroPrediction(model);
            // patch 1..4: mean 2.5, unbiased var 5/3; mean of squared targets = (5/4) / (5/3 + 1e-6)
            double expected = 1.25 / (5.0 / 3.0 + 1e-6);
            assertEquals(expected, loss(model, patchesOfOneToFour(), new double[] {0.1, 0.2, 0.3, 0.4}), 1e-14);
        }
    }

    @Test
    void plainTargetIsThePixels() {
        try (Model model = Model.create(config(false), Device.cpu(), 0)) {
            zeroPrediction(model);
            // mean of 1, 4, 9, 16
            assertEquals(7.5, loss(model, patchesOfOneToFour(), new double[] {0.1, 0.2, 0.3, 0.4}), 1e-14);
        }
    }

    @Test
    void lossIgnoresKeptPatches() {
        try (Model model = Model.create(config(false), Device.cpu(), 0)) {
            zeroPrediction(model);
            double[] noise = {0.1, 0.9, 0.2, 0.8}; // keep patches 0 and 2 (top-left, bottom-left); remove 1 and 3
            double[] img = patchesOfOneToFour();
            double base = loss(model, img, noise);

            double[] keptChanged = img.clone();
            keptChanged[0] = 100; // patch 0 (kept)
            keptChanged[2 * 4 + 1] = -7; // patch 2 (kept)
            assertEquals(base, loss(model, keptChanged, noise), 0.0);

            double[] removedChanged = img.clone();
            removedChanged[3] = 100; // patch 1 (removed)
            assertNotEquals(base, loss(model, removedChanged, noise));
        }
    }

    @Test
    void lossIsTheMeanOverRemovedPatchesOfPerPatchErrors() {
        MaeConfig c = MaeConfig.tiny().toBuilder().precision(DType.F64).build();
        int n = 2, L = c.numPatches(), P = c.patchDim();
        double[] pixels = TestData.gaussian(n * 128, 4);
        try (Model model = Model.create(c, Device.cpu(), 1);
                Tensor images = Tensor.fromDoubles(pixels, n, 2, 8, 8);
                Masker masker = Masker.random(0.75, 9);
                ForwardResult r = model.forward(images, masker)) {
            double[] pred = r.pred().toDoubleArray(), mask = r.mask().toDoubleArray();
            double removedSum = 0, removed = 0, allSum = 0;
            for (int b = 0; b < n; b++)
                for (int l = 0; l < L; l++) {
                    int i = l / 4, j = l % 4;
                    double se = 0;
                    for (int r2 = 0; r2 < 2; r2++)
                        for (int q = 0; q < 2; q++)
                            for (int ch = 0; ch < 2; ch++) {
                                double t = pixels[((b * 2 + ch) * 8 + i * 2 + r2) * 8 + j * 2 + q];
                                double d = pred[(b * L + l) * P + (r2 * 2 + q) * 2 + ch] - t;
                                se += d * d;
                            }
                    removedSum += se / P * mask[b * L + l];
                    removed += mask[b * L + l];
                    allSum += se / P;
                }
            assertEquals(removedSum / removed, r.loss(), 1e-12);
            assertNotEquals(allSum / (n * L), r.loss(), 1e-6);
        }
    }
}
