package dev.mae4j;

import dev.mae4j.bindings.Mae;
import dev.mae4j.bindings.mae_tensor_view;
import dev.mae4j.data.Mixup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Batched image augmentation in native code. */
public final class Augment {
    private Augment() {}

    /**
     * RandomResizedCrop and horizontal flip for a whole batch: crop {@code i} (row {@code i} of {@code boxes}:
     * top, left, height, width in source pixels, flip 0 or 1) of images [N, C, H, W] (F32), resized to
     * size × size with bilinear sampling. Returns [N, C, size, size].
     */
    public static Tensor resizedCrops(Tensor images, double[] boxes, int size) {
        long n = batchSize(images, boxes);
        if (boxes.length != n * 5)
            throw new IllegalArgumentException("boxes must hold 5 values per image (" + n * 5 + "), got " + boxes.length);
        NativeLibrary.ensureLoaded();
        images.acquire();
        try (Arena arena = Arena.ofConfined(); Tensor b = Tensor.fromDoubles(boxes, n, 5)) {
            MemorySegment imagesView = mae_tensor_view.allocate(arena), boxesView = mae_tensor_view.allocate(arena);
            images.writeView(imagesView);
            b.writeView(boxesView);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Status.check(Mae.mae_augment_crops(imagesView, boxesView, size, out));
            return Tensor.adopt(out.get(ValueLayout.ADDRESS, 0));
        } finally {
            images.release();
        }
    }

    /**
     * Random erasing for a whole batch: a copy of images [N, C, H, W] (F32, normalised) in which box {@code i}
     * (row {@code i} of {@code boxes}: top, left, height, width in whole pixels; a zero height or width erases
     * nothing) holds N(0, 1) values, one per pixel and channel, drawn from a generator seeded with {@code seed}:
     * timm's RandomErasing in 'pixel' mode. {@link dev.mae4j.data.RandomErasing} samples the boxes.
     */
    public static Tensor erase(Tensor images, double[] boxes, long seed) {
        long n = batchSize(images, boxes);
        if (boxes.length != n * 4)
            throw new IllegalArgumentException("boxes must hold 4 values per image (" + n * 4 + "), got " + boxes.length);
        NativeLibrary.ensureLoaded();
        images.acquire();
        try (Arena arena = Arena.ofConfined(); Tensor b = Tensor.fromDoubles(boxes, n, 4)) {
            MemorySegment imagesView = mae_tensor_view.allocate(arena), boxesView = mae_tensor_view.allocate(arena);
            images.writeView(imagesView);
            b.writeView(boxesView);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Status.check(Mae.mae_augment_erase(imagesView, boxesView, seed, out));
            return Tensor.adopt(out.get(ValueLayout.ADDRESS, 0));
        } finally {
            images.release();
        }
    }

    /**
     * Mixes a batch with itself reversed (image i with image N − 1 − i) as {@code mix} says: for CutMix a copy with
     * the box of each paired image pasted in, else lam · images + (1 − lam) · images reversed (a plain copy at lam 1).
     * Returns a new [N, C, H, W] tensor; mix the targets with {@link dev.mae4j.data.Mixup#targets} and the same lam.
     */
    public static Tensor mix(Tensor images, Mixup.Mix mix) {
        if (images == null || mix == null) throw new IllegalArgumentException("images and mix must not be null");
        batchSize(images, new double[0]);
        NativeLibrary.ensureLoaded();
        images.acquire();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment imagesView = mae_tensor_view.allocate(arena);
            images.writeView(imagesView);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            int[] b = mix.box();
            Status.check(b == null ? Mae.mae_augment_mixup(imagesView, mix.lam(), out)
                    : Mae.mae_augment_cutmix(imagesView, b[0], b[1], b[2], b[3], out));
            return Tensor.adopt(out.get(ValueLayout.ADDRESS, 0));
        } finally {
            images.release();
        }
    }

    private static long batchSize(Tensor images, double[] boxes) {
        if (images == null || boxes == null) throw new IllegalArgumentException("images and boxes must not be null");
        long[] shape = images.shape();
        if (shape.length != 4)
            throw new IllegalArgumentException("images must be [N, C, H, W], got " + java.util.Arrays.toString(shape));
        return shape[0];
    }
}
