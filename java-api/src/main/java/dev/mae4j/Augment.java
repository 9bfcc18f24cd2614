package dev.mae4j;

import dev.mae4j.bindings.Mae;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

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
     * Mixes a batch with itself reversed (image i with image N − 1 − i): with a {@code box} (top, left, height, width)
     * CutMix, a copy with that box of each paired image pasted in; else Mixup, lam · images + (1 − lam) · images
     * reversed (a plain copy at lam 1). Returns a new [N, C, H, W] tensor. {@link dev.mae4j.data.Mixup} draws lam
     * and the box and mixes the targets.
     */
    public static Tensor mix(Tensor images, double lam, int[] box) {
        if (box != null && box.length != 4)
            throw new IllegalArgumentException("box needs top, left, height and width, got " + box.length + " values");
        return withBoxes(
                images,
                new double[0],
                0,
                (iv, bv, out) -> box == null
                        ? Mae.mae_augment_mixup(iv, lam, out)
                        : Mae.mae_augment_cutmix(iv, box[0], box[1], box[2], box[3], out));
    }

    /**
     * RandAugment for a whole batch with PIL's arithmetic, from its native plan: images [N, C, H, W] (F32, normalised
     * with {@code mean} and {@code std}, one value per channel; C 1 or 3) are rounded to 8-bit pixels as timm's PIL
     * images are, image i is changed by rows {@code [i, 0..k)} of {@code plan} ([N, k, 7]: an MAE_RA_* code and six
     * arguments; MAE_RA_NONE rows do nothing) in order, and normalised again. Geometric steps resample bicubically
     * and bring in round(255 · mean) from outside the image, as the reference's create_transform asks of timm.
     * {@link dev.mae4j.data.RandAugment#apply} draws and plans the steps. Returns a new [N, C, H, W] tensor.
     */
    public static Tensor randAugment(Tensor images, double[] plan, int k, double[] mean, double[] std) {
        if (images == null || plan == null || mean == null || std == null)
            throw new IllegalArgumentException(
                    (images == null ? "images" : plan == null ? "plan" : mean == null ? "mean" : "std")
                            + " must not be null");
        long[] shape = images.shape();
        if (shape.length != 4)
            throw new IllegalArgumentException("images must be [N, C, H, W], got " + Arrays.toString(shape));
        if (k < 1 || plan.length != shape[0] * k * 7)
            throw new IllegalArgumentException("plan must hold " + k + " rows of 7 per image (" + shape[0] * k * 7
                    + " values), got " + plan.length);
        if (mean.length != shape[1] || std.length != shape[1])
            throw new IllegalArgumentException("mean and std need one value per channel (" + shape[1] + "), got "
                    + mean.length + " and " + std.length);
        NativeLibrary.ensureLoaded();
        try (Downcall d = Downcall.holding(images);
                Tensor p = Tensor.fromDoubles(plan, shape[0], (long) k * 7);
                Tensor m = Tensor.fromDoubles(mean, mean.length);
                Tensor s = Tensor.fromDoubles(std, std.length)) {
            MemorySegment out = d.pointer();
            d.check(Mae.mae_augment_rand(d.view(images), d.view(p), d.view(m), d.view(s), out));
            return d.adopt(out);
        }
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
