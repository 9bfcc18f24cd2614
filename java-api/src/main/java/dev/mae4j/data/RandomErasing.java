package dev.mae4j.data;

import java.util.Random;

/**
 * The boxes of timm's RandomErasing as the reference's fine-tuning uses it ({@code --reprob 0.25}, one box per
 * image): with the given probability an image gets one box of random area (2%–1/3 of the image by default) and
 * log-uniform aspect ratio (0.3–1/0.3), up to ten tries for one smaller than the image on both sides; otherwise, or
 * when no try fits, none. {@code dev.mae4j.Augment.erase} fills the boxes with noise.
 */
public record RandomErasing(double probability, double minArea, double maxArea, double minRatio, double maxRatio) {
    public RandomErasing {
        if (!(probability >= 0 && probability <= 1))
            throw new IllegalArgumentException("probability must be in [0, 1], got " + probability);
        if (!(0 < minArea && minArea <= maxArea && maxArea <= 1))
            throw new IllegalArgumentException("need 0 < minArea <= maxArea <= 1, got " + minArea + ", " + maxArea);
        if (!(0 < minRatio && minRatio <= maxRatio))
            throw new IllegalArgumentException("need 0 < minRatio <= maxRatio, got " + minRatio + ", " + maxRatio);
    }

    /** timm's defaults (area 0.02–1/3, aspect 0.3–1/0.3) with the given probability; the reference fine-tunes with 0.25. */
    public static RandomErasing withProbability(double probability) {
        return new RandomErasing(probability, 0.02, 1.0 / 3, 0.3, 1 / 0.3);
    }

    /** {@code boxes[4·i ...]}: top, left, height, width of image i's box among n images of h × w; all zero for none. */
    public double[] sample(int n, int h, int w, Random random) {
        double[] boxes = new double[4 * n];
        for (int i = 0; i < n; i++) {
            int[] box = box(h, w, random);
            if (box != null) for (int k = 0; k < 4; k++) boxes[4 * i + k] = box[k];
        }
        return boxes;
    }

    /** top, left, height, width as timm's RandomErasing._erase draws them, or null for no box. */
    int[] box(int h, int w, Random random) {
        if (random.nextDouble() >= probability) return null; // timm: erase unless random() > probability
        double area = (double) h * w, logMin = Math.log(minRatio), logMax = Math.log(maxRatio);
        for (int attempt = 0; attempt < 10; attempt++) {
            double targetArea = area * (minArea + (maxArea - minArea) * random.nextDouble());
            double aspect = Math.exp(logMin + (logMax - logMin) * random.nextDouble());
            int eh = (int) Math.round(Math.sqrt(targetArea * aspect));
            int ew = (int) Math.round(Math.sqrt(targetArea / aspect));
            if (ew < w && eh < h) return new int[] {random.nextInt(h - eh + 1), random.nextInt(w - ew + 1), eh, ew};
        }
        return null;
    }
}
