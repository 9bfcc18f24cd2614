package dev.mae4j;

import dev.mae4j.bindings.Mae;
import dev.mae4j.bindings.mae_tensor_view;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Turning stored 8-bit images into normalised float batches, in native code. */
public final class Pixels {
    private Pixels() {}

    /**
     * Images {@code indices} of {@code pool} (U8 [M, C, H, W], e.g. a memory-mapped shard wrapped with
     * {@link Tensor#wrap(MemorySegment, DType, long...)}, read in place) as F32 [N, C, H, W] with
     * (pixel / 255 − mean[c]) / std[c].
     */
    public static Tensor gatherNormalized(Tensor pool, long[] indices, double[] mean, double[] std) {
        if (pool == null || indices == null || mean == null || std == null)
            throw new IllegalArgumentException("pool, indices, mean and std must not be null");
        NativeLibrary.ensureLoaded();
        pool.acquire();
        try (Arena arena = Arena.ofConfined();
             Tensor idx = Tensor.zeros(DType.I64, indices.length);
             Tensor m = Tensor.fromDoubles(mean, mean.length);
             Tensor s = Tensor.fromDoubles(std, std.length)) {
            MemorySegment.copy(indices, 0, idx.segment(), ValueLayout.JAVA_LONG, 0, indices.length);
            MemorySegment[] views = new MemorySegment[4];
            Tensor[] tensors = {pool, idx, m, s};
            for (int i = 0; i < 4; i++) {
                views[i] = mae_tensor_view.allocate(arena);
                tensors[i].writeView(views[i]);
            }
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Status.check(Mae.mae_gather_normalize(views[0], views[1], views[2], views[3], out));
            return Tensor.adopt(out.get(ValueLayout.ADDRESS, 0));
        } finally {
            pool.release();
        }
    }

    /**
     * torchvision's {@code F.resized_crop} of a PIL image with bicubic interpolation, in Pillow 9's arithmetic:
     * {@code crop} = {top, left, height, width} (whole pixels; the whole image for a plain resize) of {@code image}
     * (U8 [H, W, C], interleaved as decoders give it; the channel order is kept) resized to height × width, its
     * columns mirrored when {@code flip}. Returns U8 [C, height, width], planar.
     */
    public static Tensor resizedCrop(Tensor image, int[] crop, int height, int width, boolean flip) {
        if (image == null || crop == null) throw new IllegalArgumentException("image and crop must not be null");
        if (crop.length != 4) throw new IllegalArgumentException("crop needs top, left, height and width, got " + crop.length + " values");
        NativeLibrary.ensureLoaded();
        image.acquire();
        try (Arena arena = Arena.ofConfined();
             Tensor box = Tensor.fromDoubles(new double[] {crop[0], crop[1], crop[2], crop[3]}, 4)) {
            MemorySegment iv = mae_tensor_view.allocate(arena), bv = mae_tensor_view.allocate(arena);
            image.writeView(iv);
            box.writeView(bv);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Status.check(Mae.mae_resized_crop(iv, bv, height, width, flip ? 1 : 0, out));
            return Tensor.adopt(out.get(ValueLayout.ADDRESS, 0));
        } finally {
            image.release();
        }
    }
}
