package dev.mae4j.data;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * An image file's dimensions read from its header alone, before anything is decoded, and the one pixel budget every
 * decoder in mae4j checks them against: a 1 MB PNG can declare 20000×20000 pixels and would take gigabytes to
 * decode. The budget is PIL's {@code Image.MAX_IMAGE_PIXELS} (89,478,485 pixels, a quarter GiB of 3-byte pixels,
 * the ecosystem's convention) unless {@code -Dmae.maxImagePixels=N} or {@link #setMaxPixels} says otherwise.
 */
public final class ImageHeader {
    public static final String MAX_PIXELS_PROPERTY = "mae.maxImagePixels";
    /** PIL's MAX_IMAGE_PIXELS: int(1024 * 1024 * 1024 // 4 // 3). */
    public static final long DEFAULT_MAX_PIXELS = 1024L * 1024 * 1024 / 4 / 3;

    private static volatile long maxPixels = initialBudget(System.getProperty(MAX_PIXELS_PROPERTY));

    /** Width and height as the header declares them. */
    public record Dimensions(int width, int height) {
        public long pixels() {
            return (long) width * height;
        }
    }

    private ImageHeader() {}

    /** The current budget in pixels (width × height). */
    public static long maxPixels() {
        return maxPixels;
    }

    /** Sets the budget for the whole process; at least 1. */
    public static void setMaxPixels(long pixels) {
        if (pixels < 1) throw new IllegalArgumentException("the pixel budget must be >= 1, got " + pixels);
        maxPixels = pixels;
    }

    static long initialBudget(String property) {
        if (property == null) return DEFAULT_MAX_PIXELS;
        try {
            long n = Long.parseLong(property.trim());
            if (n >= 1) return n;
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException(
                "-D" + MAX_PIXELS_PROPERTY + " must be a positive integer, got '" + property + "'");
    }

    /** The dimensions in the header of {@code file}'s bytes; IOException when no reader knows the format. */
    public static Dimensions read(byte[] file) throws IOException {
        if (file.length > 2 && (file[0] & 0xff) == 0xff && (file[1] & 0xff) == 0xd8) return jpegFrame(file);
        // a memory cache: ImageIO's default for streams is a temporary file per image
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(file))) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) throw new IOException("not a JPEG or PNG image");
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true); // header only: no metadata, no pixels
                int w = reader.getWidth(0), h = reader.getHeight(0);
                if (w <= 0 || h <= 0) throw new IOException("the header declares an empty image (" + w + "×" + h + ")");
                return new Dimensions(w, h);
            } catch (RuntimeException e) {
                throw new IOException("unreadable image header: " + e, e);
            } finally {
                reader.dispose();
            }
        }
    }

    // A JPEG's frame header (SOFn): its markers walked from SOI to the first SOFn, which holds height and width.
    // ImageIO's JPEG reader wants the scan (SOS) before it reports a size; a bomb need not have one.
    private static Dimensions jpegFrame(byte[] f) throws IOException {
        int i = 2;
        while (i + 4 <= f.length) {
            if ((f[i] & 0xff) != 0xff) throw new IOException("corrupt JPEG: no marker at byte " + i);
            int marker = f[i + 1] & 0xff;
            if (marker == 0xff) { // fill byte
                i++;
                continue;
            }
            if (marker == 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker == 0x01) { // no length
                i += 2;
                continue;
            }
            if (marker == 0xd9 || marker == 0xda) break; // EOI, or SOS before any frame header
            int length = ((f[i + 2] & 0xff) << 8) | (f[i + 3] & 0xff);
            boolean frame = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
            if (frame) {
                if (length < 7 || i + 9 > f.length) throw new IOException("corrupt JPEG: truncated frame header");
                int h = ((f[i + 5] & 0xff) << 8) | (f[i + 6] & 0xff), w = ((f[i + 7] & 0xff) << 8) | (f[i + 8] & 0xff);
                if (w <= 0 || h <= 0) throw new IOException("the header declares an empty image (" + w + "×" + h + ")");
                return new Dimensions(w, h);
            }
            if (length < 2) throw new IOException("corrupt JPEG: segment length " + length + " at byte " + i);
            i += 2 + length;
        }
        throw new IOException("corrupt JPEG: no frame header");
    }

    /** The header's dimensions, refused with ImageTooLargeException (naming {@code what}) over the budget. */
    public static Dimensions check(byte[] file, String what) throws IOException {
        Dimensions d = read(file);
        checkBudget(d.width(), d.height(), what);
        return d;
    }

    /** Throws ImageTooLargeException (naming {@code what}) when width × height is over the budget. */
    public static void checkBudget(int width, int height, String what) throws ImageTooLargeException {
        long budget = maxPixels;
        if ((long) width * height > budget) throw new ImageTooLargeException(what, width, height, budget);
    }
}
