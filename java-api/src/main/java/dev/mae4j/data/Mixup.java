package dev.mae4j.data;

import java.util.Random;
import org.apache.commons.rng.UniformRandomProvider;
import org.apache.commons.rng.sampling.distribution.ChengBetaSampler;

/**
 * timm's Mixup and CutMix in 'batch' mode, as the reference's fine-tuning recipes use them ({@code --mixup 0.8
 * --cutmix 1.0}): with {@code probability} a batch is mixed with itself reversed (image i with image N − 1 − i) —
 * by CutMix with {@code switchProbability} when both are on, else by Mixup — with lam ~ Beta(α, α) of the kind
 * chosen. CutMix pastes a box of about (1 − lam) of the image, its centre uniform and its sides clipped at the
 * borders, and corrects lam to 1 − box area / image area. {@link Mix#apply} mixes the images;
 * {@link #targets} mixes the labels' smoothed one-hot rows with the same lam.
 */
public record Mixup(double mixupAlpha, double cutmixAlpha, double probability, double switchProbability) {
    public Mixup {
        if (!(mixupAlpha >= 0 && Double.isFinite(mixupAlpha)) || !(cutmixAlpha >= 0 && Double.isFinite(cutmixAlpha)))
            throw new IllegalArgumentException(
                    "the alphas must be finite and >= 0, got " + mixupAlpha + ", " + cutmixAlpha);
        if (!(probability >= 0 && probability <= 1) || !(switchProbability >= 0 && switchProbability <= 1))
            throw new IllegalArgumentException(
                    "probabilities must be in [0, 1], got " + probability + ", " + switchProbability);
    }

    /** The reference's defaults for the given alphas: every batch mixed, CutMix half the time when both are on. */
    public static Mixup withAlphas(double mixupAlpha, double cutmixAlpha) {
        return new Mixup(mixupAlpha, cutmixAlpha, 1.0, 0.5);
    }

    /** Whether any batch is ever mixed (an alpha above 0). */
    public boolean enabled() {
        return mixupAlpha > 0 || cutmixAlpha > 0;
    }

    /**
     * One batch's mix: the weight lam of each image's own content and label, and for CutMix the box (top, left,
     * height, width) taken from the paired image; {@code box} is null for Mixup and for no mixing (lam 1).
     */
    public record Mix(double lam, int[] box) {
        public Mix {
            if (!(lam >= 0 && lam <= 1)) throw new IllegalArgumentException("lam must be in [0, 1], got " + lam);
            if (box != null && box.length != 4)
                throw new IllegalArgumentException(
                        "box must hold top, left, height, width, got " + box.length + " values");
        }

        public boolean isCutMix() {
            return box != null;
        }

        /** This mix of a batch with itself reversed, in native code ({@link dev.mae4j.Augment#mix}). */
        public dev.mae4j.Tensor apply(dev.mae4j.Tensor images) {
            return dev.mae4j.Augment.mix(images, lam, box);
        }
    }

    /** Draws the mix of one batch of h × w images. */
    public Mix draw(int h, int w, Random random) {
        if (!enabled() || random.nextDouble() >= probability) return new Mix(1, null);
        boolean cut = mixupAlpha > 0 && cutmixAlpha > 0 ? random.nextDouble() < switchProbability : cutmixAlpha > 0;
        UniformRandomProvider source = random::nextLong;
        double alpha = cut ? cutmixAlpha : mixupAlpha;
        double lam = ChengBetaSampler.of(source, alpha, alpha).sample();
        return cut ? cutBox(h, w, lam, random) : new Mix(lam, null);
    }

    /** timm's rand_bbox for lam, with lam corrected to the box's area (cutmix_bbox_and_lam, correct_lam). */
    static Mix cutBox(int h, int w, double lam, Random random) {
        double ratio = Math.sqrt(1 - lam);
        int cutH = (int) (h * ratio), cutW = (int) (w * ratio);
        int cy = random.nextInt(h), cx = random.nextInt(w);
        int top = Math.clamp(cy - cutH / 2, 0, h), bottom = Math.clamp(cy + cutH / 2, 0, h);
        int left = Math.clamp(cx - cutW / 2, 0, w), right = Math.clamp(cx + cutW / 2, 0, w);
        double area = (double) (bottom - top) * (right - left);
        return new Mix(1 - area / ((double) h * w), new int[] {top, left, bottom - top, right - left});
    }

    /**
     * timm's mixup_target: row i is lam · smooth(y_i) + (1 − lam) · smooth(y_{N−1−i}), where smooth puts
     * 1 − smoothing + smoothing / K on the label and smoothing / K elsewhere; [N, K] row-major.
     */
    public static float[] targets(long[] labels, int numClasses, double lam, double smoothing) {
        if (numClasses < 1) throw new IllegalArgumentException("numClasses must be >= 1, got " + numClasses);
        if (!(lam >= 0 && lam <= 1)) throw new IllegalArgumentException("lam must be in [0, 1], got " + lam);
        if (!(smoothing >= 0 && smoothing < 1))
            throw new IllegalArgumentException("smoothing must be in [0, 1), got " + smoothing);
        int n = labels.length;
        double off = smoothing / numClasses, on = 1 - smoothing + off;
        float[] t = new float[n * numClasses];
        for (int i = 0; i < n; i++) {
            long own = labels[i], paired = labels[n - 1 - i];
            if (own < 0 || own >= numClasses)
                throw new IllegalArgumentException(
                        "label " + own + " of image " + i + " is outside [0, " + numClasses + ")");
            for (int k = 0; k < numClasses; k++)
                t[i * numClasses + k] = (float) (lam * (k == own ? on : off) + (1 - lam) * (k == paired ? on : off));
        }
        return t;
    }
}
