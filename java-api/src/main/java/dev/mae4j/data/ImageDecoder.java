package dev.mae4j.data;

import dev.mae4j.Preprocessing;
import dev.mae4j.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Encoded images in memory (a request body, a message, a blob) to the normalised pixels an encoder takes: the same
 * decoding, evaluation transform and normalisation as {@link ImageFolder#decode} gives a file with the same bytes
 * — JPEG as PIL decodes it, PNG, grey or colour — with no file written. Each image's declared size is checked
 * against the pixel budget ({@link ImageHeader#maxPixels()}) before any decoder allocates for it, and a stream is
 * read only up to {@link #maxFileBytes()}: bad input costs bounded memory and ends in an exception that names it
 * ({@link ImageTooLargeException} for a bomb, IOException for bytes that are no readable image). Thread-safe.
 */
public final class ImageDecoder {
    /** The default largest encoded image a stream may hold: 64 MiB. */
    public static final long DEFAULT_MAX_FILE_BYTES = 64L << 20;

    private final int size, channels;
    private final float[] mean, std;
    private final long maxFileBytes;

    /** Images resized and centre-cropped to {@code size} × {@code size} with {@code channels}, normalised by {@code p}. */
    public ImageDecoder(int size, int channels, Preprocessing p) {
        this(size, channels, p, DEFAULT_MAX_FILE_BYTES);
    }

    /** As {@link #ImageDecoder(int, int, Preprocessing)}, refusing streams of more than {@code maxFileBytes} bytes. */
    public ImageDecoder(int size, int channels, Preprocessing p, long maxFileBytes) {
        if (size < 1) throw new IllegalArgumentException("size must be positive, got " + size);
        if (channels != 1 && channels != 3)
            throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
        if (p == null) throw new IllegalArgumentException("preprocessing must not be null");
        if (p.channels() != channels)
            throw new IllegalArgumentException(
                    "preprocessing has " + p.channels() + " channels, the images " + channels);
        if (maxFileBytes < 1 || maxFileBytes > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("maxFileBytes must be in [1, 2^31 - 9], got " + maxFileBytes);
        this.size = size;
        this.channels = channels;
        this.mean = p.mean();
        this.std = p.std();
        this.maxFileBytes = maxFileBytes;
    }

    /** The floats one image takes: channels × size × size. */
    public int imageFloats() {
        return channels * size * size;
    }

    public long maxFileBytes() {
        return maxFileBytes;
    }

    /**
     * Decodes a whole JPEG or PNG file's bytes into {@code dst[offset ... offset + imageFloats())}, as channel planes;
     * {@code name} says which image in errors.
     */
    public void decode(byte[] file, String name, float[] dst, int offset) throws IOException {
        if (file == null || dst == null) throw new IllegalArgumentException("file and dst must not be null");
        if (offset < 0 || (long) offset + imageFloats() > dst.length)
            throw new IllegalArgumentException("dst holds no " + imageFloats() + " floats at offset " + offset);
        try (ImageFolder.Decoded image = ImageFolder.read(file, name, channels)) {
            ImageFolder.normalise(
                    ImageFolder.evaluationPixels(image, size, channels), size, channels, mean, std, dst, offset);
        } catch (UncheckedIOException e) {
            throw e.getCause(); // ImageTooLargeException for a bomb, else an IOException that names the image
        }
    }

    /** One image as a tensor [1, C, size, size] F32, which the caller closes. */
    public Tensor decode(byte[] file, String name) throws IOException {
        float[] x = new float[imageFloats()];
        decode(file, name, x, 0);
        return Tensor.fromFloats(x, 1, channels, size, size);
    }

    /** The remaining bytes of {@code file} (heap or direct; its position is left where it was), as {@link #decode(byte[], String)}. */
    public Tensor decode(ByteBuffer file, String name) throws IOException {
        if (file == null) throw new IllegalArgumentException("file must not be null");
        if (file.remaining() > maxFileBytes) throw tooLong(name);
        byte[] bytes = new byte[file.remaining()];
        file.duplicate().get(bytes);
        return decode(bytes, name);
    }

    /**
     * Reads {@code in} to its end, at most {@link #maxFileBytes()} bytes (IOException past them, before reading
     * more), and decodes it as {@link #decode(byte[], String)}. The stream stays open.
     */
    public Tensor decode(InputStream in, String name) throws IOException {
        return decode(readBounded(in, name), name);
    }

    /** At most {@link #maxFileBytes()} bytes of {@code in}, to its end; IOException naming {@code name} past them. */
    public byte[] readBounded(InputStream in, String name) throws IOException {
        if (in == null) throw new IllegalArgumentException("in must not be null");
        byte[] buf = new byte[(int) Math.min(maxFileBytes + 1, 64 * 1024)];
        int n = 0;
        for (int r; (r = in.read(buf, n, buf.length - n)) >= 0; ) {
            n += r;
            if (n > maxFileBytes) throw tooLong(name);
            if (n == buf.length) buf = Arrays.copyOf(buf, (int) Math.min(maxFileBytes + 1, 2L * buf.length));
        }
        return Arrays.copyOf(buf, n);
    }

    private IOException tooLong(String name) {
        return new IOException(name + " is larger than " + maxFileBytes + " bytes, this decoder's limit");
    }
}
