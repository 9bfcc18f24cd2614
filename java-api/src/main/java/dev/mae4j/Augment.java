package dev.mae4j;

import dev.mae4j.bindings.Mae;
import dev.mae4j.data.Mixup;
import dev.mae4j.data.RandAugment;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/** Batched image augmentation in native code. */
public final class Augment {
    private Augment() {}

    /**
     * RandomResizedCrop and horizontal flip for a whole batch: crop {@code i} (row {@code i} of {@code boxes}:
     * top, left, height, width in source pixels, flip 0 or 1) of images [N, C, H, W] (F32), resized to
     * size × size with bilinear sampling. Returns [N, C, size, size].
     */
    public static Tensor resizedCrops(Tensor images, double[] boxes, int size) {
        return withBoxes(images, boxes, 5, (iv, bv, out) -> Mae.mae_augment_crops(iv, bv, size, out));
    }

    /**
     * Random erasing for a whole batch: a copy of images [N, C, H, W] (F32, normalised) in which box {@code i}
     * (row {@code i} of {@code boxes}: top, left, height, width in whole pixels; a zero height or width erases
     * nothing) holds N(0, 1) values, one per pixel and channel, drawn from a generator seeded with {@code seed}:
     * timm's RandomErasing in 'pixel' mode. {@link dev.mae4j.data.RandomErasing} samples the boxes.
     */
    public static Tensor erase(Tensor images, double[] boxes, long seed) {
        return withBoxes(images, boxes, 4, (iv, bv, out) -> Mae.mae_augment_erase(iv, bv, seed, out));
    }

    /**
     * Mixes a batch with itself reversed (image i with image N − 1 − i) as {@code mix} says: for CutMix a copy with
     * the box of each paired image pasted in, else lam · images + (1 − lam) · images reversed (a plain copy at lam 1).
     * Returns a new [N, C, H, W] tensor; mix the targets with {@link dev.mae4j.data.Mixup#targets} and the same lam.
     */
    public static Tensor mix(Tensor images, Mixup.Mix mix) {
        if (mix == null) throw new IllegalArgumentException("mix must not be null");
        int[] b = mix.box();
        return withBoxes(
                images,
                new double[0],
                0,
                (iv, bv, out) -> b == null
                        ? Mae.mae_augment_mixup(iv, mix.lam(), out)
                        : Mae.mae_augment_cutmix(iv, b[0], b[1], b[2], b[3], out));
    }

    /**
     * RandAugment for a whole batch with PIL's arithmetic: images [N, C, H, W] (F32, normalised with {@code mean} and
     * {@code std}, one value per channel; C 1 or 3) are rounded to 8-bit pixels as timm's PIL images are, image i is
     * changed by {@code steps.get(i)} in order (drawn by {@link RandAugment#draw}), and normalised again. Geometric
     * steps resample bicubically and bring in round(255 · mean) from outside the image, as the reference's
     * create_transform asks of timm. Returns a new [N, C, H, W] tensor.
     */
    public static Tensor randAugment(Tensor images, List<List<RandAugment.Step>> steps, double[] mean, double[] std) {
        if (images == null || steps == null || mean == null || std == null)
            throw new IllegalArgumentException(
                    (images == null ? "images" : steps == null ? "steps" : mean == null ? "mean" : "std")
                            + " must not be null");
        long[] shape = images.shape();
        if (shape.length != 4)
            throw new IllegalArgumentException("images must be [N, C, H, W], got " + Arrays.toString(shape));
        if (steps.size() != shape[0])
            throw new IllegalArgumentException(
                    "steps must hold one list per image (" + shape[0] + "), got " + steps.size());
        if (mean.length != shape[1] || std.length != shape[1])
            throw new IllegalArgumentException("mean and std need one value per channel (" + shape[1] + "), got "
                    + mean.length + " and " + std.length);
        int k = Math.max(1, steps.stream().mapToInt(List::size).max().orElse(0)), columns = 7;
        double[] plan = new double[steps.size() * k * columns]; // unused steps stay MAE_RA_NONE (0)
        for (int i = 0; i < steps.size(); i++)
            for (int j = 0; j < steps.get(i).size(); j++)
                planStep(steps.get(i).get(j), (int) shape[3], (int) shape[2], plan, (i * k + j) * columns);
        NativeLibrary.ensureLoaded();
        try (Downcall d = Downcall.holding(images);
                Tensor p = Tensor.fromDoubles(plan, shape[0], (long) k * columns);
                Tensor m = Tensor.fromDoubles(mean, mean.length);
                Tensor s = Tensor.fromDoubles(std, std.length)) {
            MemorySegment out = d.pointer();
            d.check(Mae.mae_augment_rand(d.view(images), d.view(p), d.view(m), d.view(s), out));
            return d.adopt(out);
        }
    }

    /** Writes step's native form (an MAE_RA_* code and six arguments) at plan[at ...] for a width × height image. */
    private static void planStep(RandAugment.Step step, int width, int height, double[] plan, int at) {
        double[] affine = RandAugment.affineCoefficients(step, width, height);
        if (affine != null) {
            plan[at] = Mae.MAE_RA_AFFINE();
            System.arraycopy(affine, 0, plan, at + 1, 6);
            return;
        }
        plan[at] = switch (step.op()) {
            case AUTO_CONTRAST -> Mae.MAE_RA_AUTOCONTRAST();
            case EQUALIZE -> Mae.MAE_RA_EQUALIZE();
            case INVERT -> Mae.MAE_RA_INVERT();
            case POSTERIZE -> Mae.MAE_RA_POSTERIZE();
            case SOLARIZE -> Mae.MAE_RA_SOLARIZE();
            case SOLARIZE_ADD -> Mae.MAE_RA_SOLARIZE_ADD();
            case COLOR -> Mae.MAE_RA_COLOR();
            case CONTRAST -> Mae.MAE_RA_CONTRAST();
            case BRIGHTNESS -> Mae.MAE_RA_BRIGHTNESS();
            case SHARPNESS -> Mae.MAE_RA_SHARPNESS();
            default -> throw new IllegalStateException("no native form for " + step.op()); // geometric ones are affine
        };
        plan[at + 1] = step.arg();
        if (step.op() == RandAugment.Op.SOLARIZE_ADD) plan[at + 2] = 128; // timm's solarize_add threshold
    }

    /** One native call on the views of images [N, C, H, W] and of boxes [N, columns] (a null view when columns is 0). */
    private interface BoxesCall {
        int call(MemorySegment images, MemorySegment boxes, MemorySegment out);
    }

    private static Tensor withBoxes(Tensor images, double[] boxes, int columns, BoxesCall call) {
        if (images == null) throw new IllegalArgumentException("images must not be null");
        if (boxes == null) throw new IllegalArgumentException("boxes must not be null");
        long[] shape = images.shape();
        if (shape.length != 4)
            throw new IllegalArgumentException("images must be [N, C, H, W], got " + Arrays.toString(shape));
        long n = shape[0];
        if (boxes.length != n * columns)
            throw new IllegalArgumentException(
                    "boxes must hold " + columns + " values per image (" + n * columns + "), got " + boxes.length);
        NativeLibrary.ensureLoaded();
        try (Downcall d = Downcall.holding(images);
                Tensor b = columns == 0 ? null : Tensor.fromDoubles(boxes, n, columns)) {
            MemorySegment out = d.pointer();
            d.check(call.call(d.view(images), b == null ? MemorySegment.NULL : d.view(b), out));
            return d.adopt(out);
        }
    }
}
