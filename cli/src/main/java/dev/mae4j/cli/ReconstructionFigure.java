package dev.mae4j.cli;

import dev.mae4j.ForwardResult;
import dev.mae4j.ImageDataset;
import dev.mae4j.Masker;
import dev.mae4j.Model;
import dev.mae4j.Tensor;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/**
 * reconstructions.png, the paper's figure: per image a row of original | masked | reconstruction |
 * reconstruction with the visible patches pasted back. With norm_pix_loss the predicted patches are
 * un-normalised with each original patch's mean and variance (over its p·p·C values, as the target was).
 */
final class ReconstructionFigure {
    private static final int SCALE = 4, GAP = 2;

    private ReconstructionFigure() {}

    /** {@code mean}/{@code std} (one per channel) undo the dataset normalisation for display. */
    static void write(
            Path png,
            Model model,
            ImageDataset data,
            int[] indices,
            double maskRatio,
            long seed,
            float[] mean,
            float[] std)
            throws IOException {
        var c = model.config();
        int size = c.imgSize(), p = c.patchSize(), g = c.gridSize(), n = indices.length, per = data.imageFloats();
        int ch = c.inChans(), plane = size * size;
        float[] pixels = new float[n * per];
        for (int i = 0; i < n; i++) data.copyNormalised(indices[i], pixels, i * per);
        float[] pred, mask;
        try (Tensor images = Tensor.fromFloats(pixels, n, ch, size, size);
                Masker masker = Masker.random(maskRatio, seed);
                ForwardResult r = model.forward(images, masker)) {
            pred = r.pred().toFloatArray();
            mask = r.mask().toFloatArray();
        }
        int cell = size * SCALE;
        BufferedImage fig = new BufferedImage(4 * cell + 3 * GAP, n * cell + (n - 1) * GAP, BufferedImage.TYPE_INT_RGB);
        for (int i = 0; i < n; i++) {
            float[] original = new float[per], recon = new float[per]; // [C, H, W]
            System.arraycopy(pixels, i * per, original, 0, per);
            for (int l = 0; l < g * g; l++) {
                int py = l / g, px = l % g;
                double pm = 0, pv = 0; // mean and unbiased variance of the whole p·p·C patch, as the loss's target
                for (int k = 0; k < ch; k++)
                    for (int y = 0; y < p; y++)
                        for (int x = 0; x < p; x++) pm += original[k * plane + (py * p + y) * size + px * p + x];
                pm /= p * p * ch;
                for (int k = 0; k < ch; k++)
                    for (int y = 0; y < p; y++)
                        for (int x = 0; x < p; x++)
                            pv += Math.pow(original[k * plane + (py * p + y) * size + px * p + x] - pm, 2);
                pv /= p * p * ch - 1;
                for (int y = 0; y < p; y++)
                    for (int x = 0; x < p; x++)
                        for (int k = 0; k < ch; k++) {
                            double v = pred[
                                    ((i * g * g + l) * p * p + y * p + x) * ch + k]; // (row, column, channel) order
                            if (c.normPixLoss()) v = v * Math.sqrt(pv + 1e-6) + pm;
                            recon[k * plane + (py * p + y) * size + px * p + x] = (float) v;
                        }
            }
            int top = i * (cell + GAP);
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++) {
                    boolean removed = mask[i * g * g + (y / p) * g + x / p] == 1;
                    int at = y * size + x;
                    paint(fig, 0, top, x, y, rgb(original, at, plane, ch, mean, std));
                    paint(fig, cell + GAP, top, x, y, removed ? 0x808080 : rgb(original, at, plane, ch, mean, std));
                    paint(fig, 2 * (cell + GAP), top, x, y, rgb(recon, at, plane, ch, mean, std));
                    paint(fig, 3 * (cell + GAP), top, x, y, rgb(removed ? recon : original, at, plane, ch, mean, std));
                }
        }
        ImageIO.write(fig, "png", png.toFile());
    }

    // One pixel of [C, H, W] normalised planes as 0xRRGGBB (grey when C = 1).
    private static int rgb(float[] planes, int at, int plane, int ch, float[] mean, float[] std) {
        int[] v = new int[3];
        for (int k = 0; k < 3; k++) {
            int c = ch == 1 ? 0 : k;
            v[k] = Math.round(Math.max(0f, Math.min(1f, planes[c * plane + at] * std[c] + mean[c])) * 255);
        }
        return v[0] << 16 | v[1] << 8 | v[2];
    }

    private static void paint(BufferedImage img, int left, int top, int x, int y, int rgb) {
        for (int dy = 0; dy < SCALE; dy++)
            for (int dx = 0; dx < SCALE; dx++) img.setRGB(left + x * SCALE + dx, top + y * SCALE + dy, rgb);
    }
}
