package dev.mae4j;

import dev.mae4j.bindings.Mae;
import dev.mae4j.bindings.mae_tensor_view;
import dev.mae4j.data.Mixup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
     * Mixes a batch with itself reversed (image i with image N − 1 − i) as {@code mix} says: for CutMix a copy with
     * the box of each paired image pasted in, else lam · images + (1 − lam) · images reversed (a plain copy at lam 1).
     * Returns a new [N, C, H, W] tensor; mix the targets with {@link dev.mae4j.data.Mixup#targets} and the same lam.
     */
    public static Tensor mix(Tensor images, Mixup.Mix mix) {
        if (mix == null) throw new IllegalArgumentException("mix must not be null");
        int[] b = mix.box();
        return withBoxes(images, new double[0], 0, (iv, bv, out) -> b == null ? Mae.mae_augment_mixup(iv, mix.lam(), out)
                : Mae.mae_augment_cutmix(iv, b[0], b[1], b[2], b[3], out));
    }

    /** One native call on the views of images [N, C, H, W] and of boxes [N, columns] (a null view when columns is 0). */
    private interface BoxesCall {
        int call(MemorySegment images, MemorySegment boxes, MemorySegment out);
    }

    private static Tensor withBoxes(Tensor images, double[] boxes, int columns, BoxesCall call) {
        if (images == null) throw new IllegalArgumentException("images must not be null");
        if (boxes == null) throw new IllegalArgumentException("boxes must not be null");
        long[] shape = images.shape();
        if (shape.length != 4) throw new IllegalArgumentException("images must be [N, C, H, W], got " + Arrays.toString(shape));
        long n = shape[0];
        if (boxes.length != n * columns)
            throw new IllegalArgumentException("boxes must hold " + columns + " values per image (" + n * columns + "), got "
                    + boxes.length);
        NativeLibrary.ensureLoaded();
        images.acquire();
        try (Arena arena = Arena.ofConfined(); Tensor b = columns == 0 ? null : Tensor.fromDoubles(boxes, n, columns)) {
            MemorySegment imagesView = mae_tensor_view.allocate(arena), boxesView = MemorySegment.NULL;
            images.writeView(imagesView);
            if (b != null) b.writeView(boxesView = mae_tensor_view.allocate(arena));
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Status.check(call.call(imagesView, boxesView, out));
            return Tensor.adopt(out.get(ValueLayout.ADDRESS, 0));
        } finally {
            images.release();
        }
    }
}
