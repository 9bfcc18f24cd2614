package dev.mae4j.data;

import dev.mae4j.Augment;
import dev.mae4j.ImageDataset;
import dev.mae4j.Tensor;
import java.util.Arrays;
import java.util.Random;

/**
 * The crop boxes of torchvision's RandomResizedCrop (scale 0.2–1.0 and ratio 3/4–4/3 in MAE pretraining)
 * plus a horizontal flip with probability 1/2: up to ten tries for a box of random area and log-uniform
 * aspect ratio that fits, else a centre crop.
 */
public record RandomResizedCrop(
        double minScale, double maxScale, double minRatio, double maxRatio, double flipProbability) {
    public RandomResizedCrop {
        if (!(0 < minScale && minScale <= maxScale && maxScale <= 1))
            throw new IllegalArgumentException("need 0 < minScale <= maxScale <= 1, got " + minScale + ", " + maxScale);
        if (!(0 < minRatio && minRatio <= maxRatio))
            throw new IllegalArgumentException("need 0 < minRatio <= maxRatio, got " + minRatio + ", " + maxRatio);
        if (!(flipProbability >= 0 && flipProbability <= 1))
            throw new IllegalArgumentException("flipProbability must be in [0, 1], got " + flipProbability);
    }

    /** MAE pretraining's augmentation. */
    public static RandomResizedCrop mae() {
        return new RandomResizedCrop(0.2, 1.0, 3.0 / 4.0, 4.0 / 3.0, 0.5);
    }

    /** Fills {@code boxes[5·i ...]} with top, left, height, width, flip for each of n images of h × w. */
    public double[] sample(int n, int h, int w, Random random) {
        int[] heights = new int[n], widths = new int[n];
        Arrays.fill(heights, h);
        Arrays.fill(widths, w);
        return sample(heights, widths, random);
    }

    /** Fills {@code boxes[5·i ...]} with top, left, height, width, flip for image i of heights[i] × widths[i]. */
    public double[] sample(int[] heights, int[] widths, Random random) {
        if (heights.length != widths.length)
            throw new IllegalArgumentException(
                    "need as many heights as widths, got " + heights.length + " and " + widths.length);
        int n = heights.length;
        double[] boxes = new double[5 * n];
        for (int i = 0; i < n; i++) {
            int[] box = box(heights[i], widths[i], random);
            boxes[5 * i] = box[0];
            boxes[5 * i + 1] = box[1];
            boxes[5 * i + 2] = box[2];
            boxes[5 * i + 3] = box[3];
            boxes[5 * i + 4] = random.nextDouble() < flipProbability ? 1 : 0;
        }
        return boxes;
    }

    /**
     * Images {@code indices} of {@code data}, each cropped to a box drawn here, resized to size × size and flipped
     * with probability {@link #flipProbability}, normalised as {@code data} normalises: an {@link ImageFolder}'s files
     * are cropped at their full resolution with PIL's bicubic resampling (torchvision on the reference's PIL images),
     * other datasets' stored images with bilinear sampling in one native call. F32 [N, C, size, size].
     */
    public Tensor apply(ImageDataset data, int[] indices, int size, Random random) {
        if (data instanceof ImageFolder folder) {
            int[] heights = new int[indices.length], widths = new int[indices.length];
            for (int i = 0; i < indices.length; i++) {
                heights[i] = folder.fileHeight(indices[i]);
                widths[i] = folder.fileWidth(indices[i]);
            }
            if (size != folder.height())
                throw new IllegalArgumentException("the folder's images are read at " + folder.height() + " × "
                        + folder.width() + ", not " + size + " × " + size);
            return folder.resizedCrops(indices, sample(heights, widths, random));
        }
        try (Tensor stored = data.batch(indices)) {
            return apply(stored, size, random);
        }
    }

    /** A stored batch [N, C, H, W] (F32), each image cropped to a box drawn here, resized to size × size (bilinear) and flipped. */
    public Tensor apply(Tensor batch, int size, Random random) {
        long[] shape = batch.shape();
        if (shape.length != 4)
            throw new IllegalArgumentException("batch must be [N, C, H, W], got " + Arrays.toString(shape));
        return Augment.resizedCrops(batch, sample((int) shape[0], (int) shape[2], (int) shape[3], random), size);
    }

    /** top, left, height, width, as torchvision's RandomResizedCrop.get_params. */
    int[] box(int h, int w, Random random) {
        double area = (double) h * w, logMin = Math.log(minRatio), logMax = Math.log(maxRatio);
        for (int attempt = 0; attempt < 10; attempt++) {
            double targetArea = area * (minScale + (maxScale - minScale) * random.nextDouble());
            double aspect = Math.exp(logMin + (logMax - logMin) * random.nextDouble());
            int cw = (int) Math.round(Math.sqrt(targetArea * aspect));
            int ch = (int) Math.round(Math.sqrt(targetArea / aspect));
            if (0 < cw && cw <= w && 0 < ch && ch <= h) {
                int top = random.nextInt(h - ch + 1), left = random.nextInt(w - cw + 1);
                return new int[] {top, left, ch, cw};
            }
        }
        double inRatio = (double) w / h; // fallback: the centre crop closest to the allowed ratios
        int cw = w, ch = h;
        if (inRatio < minRatio) ch = (int) Math.round(w / minRatio);
        else if (inRatio > maxRatio) cw = (int) Math.round(h * maxRatio);
        return new int[] {(h - ch) / 2, (w - cw) / 2, ch, cw};
    }
}
