package dev.mae4j;

import dev.mae4j.bindings.Mae;
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
        try (Downcall d = Downcall.holding(pool);
                Tensor idx = Tensor.zeros(DType.I64, indices.length);
                Tensor m = Tensor.fromDoubles(mean, mean.length);
                Tensor s = Tensor.fromDoubles(std, std.length)) {
            MemorySegment.copy(indices, 0, idx.segment(), ValueLayout.JAVA_LONG, 0, indices.length);
            MemorySegment out = d.pointer();
            d.check(Mae.mae_gather_normalize(d.view(pool), d.view(idx), d.view(m), d.view(s), out));
            return d.adopt(out);
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
        if (crop.length != 4)
            throw new IllegalArgumentException(
                    "crop needs top, left, height and width, got " + crop.length + " values");
        NativeLibrary.ensureLoaded();
        // The box lives in the call's confined arena too: a shared one's close costs a handshake with every thread
        // (30-45 µs here), paid per image.
        try (Downcall d = Downcall.holding(image);
                Tensor box = Tensor.wrap(
                        d.arena().allocateFrom(ValueLayout.JAVA_DOUBLE, crop[0], crop[1], crop[2], crop[3]),
                        DType.F64,
                        4)) {
            MemorySegment out = d.pointer();
            d.check(Mae.mae_resized_crop(d.view(image), d.view(box), height, width, flip ? 1 : 0, out));
            return d.adopt(out);
        }
    }

    private static volatile Boolean jpegAvailable;

    /** Whether this libmae decodes JPEGs itself ({@link #decodeJpeg}): built with libjpeg. */
    public static boolean jpegAvailable() {
        Boolean available = jpegAvailable;
        if (available == null) {
            NativeLibrary.ensureLoaded();
            jpegAvailable = available = Downcall.readInt(Mae::mae_jpeg_available) == 1;
        }
        return available;
    }

    /**
     * A whole JPEG file decoded as PIL 9 decodes it (libjpeg's accurate integer IDCT and fancy upsampling): U8
     * [H, W, C] interleaved, C 3 (R, G, B) for colour files, 1 for grey ones. Throws IllegalArgumentException with
     * libjpeg's complaint for a corrupt or truncated file, UnsupportedOperationException for CMYK files or a libmae
     * built without libjpeg ({@link #jpegAvailable}).
     */
    public static Tensor decodeJpeg(byte[] file) {
        if (file == null || file.length == 0) throw new IllegalArgumentException("file must hold a JPEG's bytes");
        NativeLibrary.ensureLoaded();
        try (Downcall d = Downcall.holding();
                Tensor bytes =
                        Tensor.wrap(d.arena().allocateFrom(ValueLayout.JAVA_BYTE, file), DType.U8, file.length)) {
            MemorySegment view = d.view(bytes), out = d.pointer();
            NativeCalls.enter(); // loader threads decode all through training: the JVM's exit waits for them
            try {
                d.check(Mae.mae_decode_jpeg(view, out));
            } finally {
                NativeCalls.exit();
            }
            return d.adopt(out);
        }
    }
}
