package dev.mae4j.data;

import dev.mae4j.DType;
import dev.mae4j.LabelledDataset;
import dev.mae4j.Pixels;
import dev.mae4j.Tensor;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.awt.image.PixelInterleavedSampleModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.function.IntFunction;
import java.util.logging.Logger;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * A folder of JPEG and PNG images: each sub-folder is a class (sorted by name, as torchvision's
 * ImageFolder), images directly in the folder are unlabeled (label -1). Images are read as the reference's
 * evaluation transform reads them — the shorter side resized to size / 0.875 (size / 1 above 224), bicubic, then
 * the centre size × size — or, for training, cropped at their full resolution ({@link #resizedCrops}); then
 * normalised per channel. Resizing is PIL's bicubic ({@link Pixels#resizedCrop}); colour files read as grey take
 * PIL's luma. Files that are not readable images are skipped when the folder is scanned, with a warning, and
 * counted; one that fails to decode later ends the run with an error that names it.
 */
public final class ImageFolder implements LabelledDataset {
    private static final Logger LOG = Logger.getLogger(ImageFolder.class.getName());
    private static final List<String> EXTENSIONS = List.of(".jpg", ".jpeg", ".png");

    private final List<Path> files = new ArrayList<>();
    private final List<Integer> labels = new ArrayList<>();
    private final List<int[]> extents = new ArrayList<>(); // height, width as scanned
    private final List<String> classes;
    private final int size, channels;
    private final float[] mean, std;
    private int skipped;

    /**
     * Scans {@code root}; {@code channels} is 1 (grey) or 3 (RGB), {@code mean} and {@code std} one value per
     * channel on the [0, 1] scale.
     */
    public ImageFolder(Path root, int size, int channels, float[] mean, float[] std) throws IOException {
        if (!Files.isDirectory(root)) throw new IOException(root + " is not a directory of images");
        if (size <= 0) throw new IllegalArgumentException("size must be positive, got " + size);
        if (channels != 1 && channels != 3)
            throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
        if (mean.length != channels || std.length != channels)
            throw new IllegalArgumentException("mean and std need " + channels + " values each");
        this.size = size;
        this.channels = channels;
        this.mean = mean.clone();
        this.std = std.clone();
        TreeMap<String, List<Path>> byClass = new TreeMap<>();
        List<Path> unlabeled = new ArrayList<>();
        try (Stream<Path> top = Files.list(root)) {
            for (Path p : top.sorted().toList()) {
                if (Files.isDirectory(p)) {
                    try (Stream<Path> inner = Files.walk(p)) {
                        byClass.put(
                                p.getFileName().toString(),
                                inner.filter(ImageFolder::isImageName).sorted().toList());
                    }
                } else if (isImageName(p)) {
                    unlabeled.add(p);
                }
            }
        }
        this.classes = List.copyOf(byClass.keySet());
        int label = 0;
        for (List<Path> paths : byClass.values()) {
            for (Path p : paths) add(p, label);
            label++;
        }
        for (Path p : unlabeled) add(p, -1);
        if (files.isEmpty())
            throw new IOException(root + " holds no readable .jpg, .jpeg or .png images (" + skipped + " skipped)");
    }

    private static boolean isImageName(Path p) {
        String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return Files.isRegularFile(p) && EXTENSIONS.stream().anyMatch(name::endsWith);
    }

    // Keeps files whose header an ImageIO reader accepts; the pixels are decoded when the image is used.
    private void add(Path p, int label) {
        try (ImageInputStream in = ImageIO.createImageInputStream(p.toFile())) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) throw new IOException("not a JPEG or PNG image");
            ImageReader reader = readers.next();
            try {
                reader.setInput(in);
                int w = reader.getWidth(0), h = reader.getHeight(0);
                if (w <= 0 || h <= 0) throw new IOException("empty image");
                ImageHeader.checkBudget(w, h, p.toString()); // a bomb is skipped with the others, named in the warning
                extents.add(new int[] {h, w});
            } finally {
                reader.dispose();
            }
            files.add(p);
            labels.add(label);
        } catch (IOException | RuntimeException e) {
            skipped++;
            LOG.warning("skipping " + p + ": " + e.getMessage());
        }
    }

    public int size() {
        return files.size();
    }

    public int channels() {
        return channels;
    }

    public int height() {
        return size;
    }

    public int width() {
        return size;
    }

    /** Class names, in label order. */
    public List<String> classes() {
        return classes;
    }

    /** The label of image {@code index}: its class's index, or -1 when it lies directly in the root. */
    public int label(int index) {
        return labels.get(index);
    }

    /** The number of sub-folders. */
    public int classCount() {
        return classes.size();
    }

    /** Files skipped while scanning because they were not readable images. */
    public int skipped() {
        return skipped;
    }

    public Path file(int index) {
        return files.get(index);
    }

    /** The height of image {@code index}'s file, in pixels, as its header said when the folder was scanned. */
    public int fileHeight(int index) {
        return extents.get(index)[0];
    }

    /** The width of image {@code index}'s file, in pixels, as its header said when the folder was scanned. */
    public int fileWidth(int index) {
        return extents.get(index)[1];
    }

    @Override
    public void copyNormalised(int index, float[] dst, int offset) {
        try (Tensor one = batch(new int[] {index})) {
            MemorySegment.copy(one.segment(), ValueLayout.JAVA_FLOAT, 0, dst, offset, imageFloats());
        }
    }

    /** Images {@code indices} through the evaluation transform, decoded in parallel: F32 [N, C, size, size]. */
    @Override
    public Tensor batch(int[] indices) {
        return normalised(indices.length, i -> evaluationPixels(files.get(indices[i]), size, channels));
    }

    /**
     * RandomResizedCrop and flip at each file's full resolution, as torchvision's on the reference's PIL images:
     * image {@code indices[i]} cropped to row i of {@code boxes} (top, left, height, width in the file's own pixels —
     * {@link RandomResizedCrop#sample(int[], int[], java.util.Random)} of {@link #fileHeight} and {@link #fileWidth} —
     * and flip 0 or 1), resized to size × size with PIL's bicubic and normalised. F32 [N, C, size, size].
     */
    public Tensor resizedCrops(int[] indices, double[] boxes) {
        if (boxes.length != 5 * indices.length)
            throw new IllegalArgumentException(
                    "boxes need 5 values per image (" + 5 * indices.length + "), got " + boxes.length);
        return normalised(indices.length, i -> {
            int[] crop = new int[4];
            for (int k = 0; k < 4; k++) {
                crop[k] = (int) boxes[5 * i + k];
                if (crop[k] != boxes[5 * i + k])
                    throw new IllegalArgumentException("crop boxes must hold whole pixels");
            }
            Path file = files.get(indices[i]);
            try (Decoded image = read(file, channels);
                    Tensor out = Pixels.resizedCrop(image.image(), crop, size, size, boxes[5 * i + 4] != 0)) {
                return image.planes(out);
            } catch (IllegalArgumentException e) { // e.g. a file replaced by a smaller one since the scan
                throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
            }
        });
    }

    // Each image's planes [C, size, size] (decoded on the common pool's threads), then normalised natively.
    private Tensor normalised(int n, IntFunction<byte[]> planes) {
        long plane = (long) channels * size * size;
        try (Tensor pixels = Tensor.zeros(DType.U8, n, channels, size, size)) {
            IntStream.range(0, n)
                    .parallel()
                    .forEach(i -> MemorySegment.copy(
                            planes.apply(i), 0, pixels.segment(), ValueLayout.JAVA_BYTE, i * plane, (int) plane));
            return Pixels.gatherNormalized(pixels, LongStream.range(0, n).toArray(), toDoubles(mean), toDoubles(std));
        }
    }

    private static double[] toDoubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    /**
     * Decodes one JPEG or PNG file through the evaluation transform ({@link #evaluationPixels}) and writes its
     * normalised channel planes at {@code dst[offset...]}; throws UncheckedIOException naming the file when it cannot.
     */
    public static void decode(Path p, int size, int channels, float[] mean, float[] std, float[] dst, int offset) {
        normalise(evaluationPixels(p, size, channels), size, channels, mean, std, dst, offset);
    }

    /** 8-bit planes [C, size, size] as ((pixel / 255) − mean[c]) / std[c] at {@code dst[offset...]}. */
    static void normalise(byte[] px, int size, int channels, float[] mean, float[] std, float[] dst, int offset) {
        int plane = size * size;
        for (int c = 0; c < channels; c++) {
            float m = mean[c], s = std[c];
            for (int i = 0; i < plane; i++) dst[offset + c * plane + i] = ((px[c * plane + i] & 0xff) / 255f - m) / s;
        }
    }

    /** The 8-bit channel planes [C, size, size] of one file through the evaluation transform ({@link #evaluationPixels}). */
    public static byte[] decodePixels(Path p, int size, int channels) {
        return evaluationPixels(p, size, channels);
    }

    /**
     * The reference's evaluation transform (main_finetune.py, main_linprobe.py) on one file: Resize(size / crop_pct)
     * — the shorter side to int(size / 0.875) for sizes up to 224, to size above, the longer in proportion, bicubic —
     * then CenterCrop(size), as torchvision computes them. 8-bit channel planes [C, size, size].
     */
    public static byte[] evaluationPixels(Path p, int size, int channels) {
        try (Decoded image = read(p, channels)) {
            return evaluationPixels(image, size, channels);
        }
    }

    /** {@link #evaluationPixels(Path, int, int)} of an image decoded already. */
    static byte[] evaluationPixels(Decoded image, int size, int channels) {
        int h = image.height(), w = image.width();
        double cropPct = size <= 224 ? 224.0 / 256 : 1.0;
        int shorter = (int) (size / cropPct);
        // torchvision's _compute_resized_output_size: int(requested * long / short)
        int rh = h <= w ? shorter : (int) ((double) ((long) shorter * h) / w);
        int rw = w <= h ? shorter : (int) ((double) ((long) shorter * w) / h);
        try (Tensor resized = Pixels.resizedCrop(image.image(), new int[] {0, 0, h, w}, rh, rw, false)) {
            // F.center_crop: int(round((extent - size) / 2.0)), Python's round halves to even as rint does
            int top = (int) Math.rint((rh - size) / 2.0), left = (int) Math.rint((rw - size) / 2.0);
            byte[] planes = new byte[channels * size * size];
            MemorySegment r = resized.segment();
            for (int c = 0; c < channels; c++)
                for (int y = 0; y < size; y++)
                    MemorySegment.copy(
                            r,
                            ValueLayout.JAVA_BYTE,
                            ((long) image.plane(c) * rh + top + y) * rw + left,
                            planes,
                            (c * size + y) * size,
                            size);
            return planes;
        }
    }

    /**
     * One file decoded as PIL's convert("RGB") or convert("L") would give it: U8 [H, W, C] interleaved, C 3 (alpha
     * dropped) or 1 (grey files as stored, colour ones as PIL's luma (299 R + 587 G + 114 B) / 1000). JPEGs are
     * decoded by libmae as PIL decodes them where it has libjpeg ({@link Pixels#jpegAvailable}); other files, and
     * JPEGs elsewhere, by ImageIO — colour JPEGs then keep its B, G, R bytes, which {@link Decoded#planes} puts in order.
     */
    static Decoded read(Path p, int channels) {
        byte[] file;
        try {
            file = Files.readAllBytes(p);
        } catch (IOException | RuntimeException e) {
            throw new UncheckedIOException(new IOException("cannot read " + p + ": " + e.getMessage(), e));
        }
        return read(file, p.toString(), channels);
    }

    /** As {@link #read(Path, int)} on a whole file's bytes already in memory; {@code p} names it in errors. */
    static Decoded read(byte[] file, String p, int channels) {
        // The declared size against the pixel budget before any decoder allocates for it.
        try {
            ImageHeader.check(file, p);
        } catch (ImageTooLargeException e) {
            throw new UncheckedIOException(e);
        } catch (IOException e) {
            throw new UncheckedIOException(new IOException("cannot decode " + p + ": " + e.getMessage(), e));
        }
        if (file.length > 2 && (file[0] & 0xff) == 0xff && (file[1] & 0xff) == 0xd8 && Pixels.jpegAvailable()) {
            try {
                return new Decoded(withChannels(Pixels.decodeJpeg(file), channels), false);
            } catch (IllegalArgumentException e) {
                throw new UncheckedIOException(new IOException("cannot decode " + p + ": " + e.getMessage(), e));
            } catch (UnsupportedOperationException e) {
                // CMYK and the like: ImageIO's turn
            }
        }
        BufferedImage img;
        try {
            // a memory cache: ImageIO's default for streams is a temporary file per image
            img = ImageIO.read(new MemoryCacheImageInputStream(new ByteArrayInputStream(file)));
        } catch (IOException | RuntimeException e) {
            throw new UncheckedIOException(new IOException("cannot decode " + p + ": " + e.getMessage(), e));
        }
        if (img == null) throw new UncheckedIOException(new IOException("cannot decode " + p));
        int w = img.getWidth(), h = img.getHeight(), n = w * h;
        byte[] bgr = packedBgr(img);
        if (bgr != null && channels == 3) return new Decoded(u8(bgr, h, w, 3), true);
        byte[] px = new byte[n * channels];
        Raster raster = img.getRaster();
        if (raster.getNumBands() == 1 && img.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY) {
            // grey files: their own samples (getRGB would pass them through a linear-grey-to-sRGB curve), 16-bit ones
            // scaled to 8
            int[] grey = raster.getPixels(0, 0, w, h, (int[]) null);
            int shift = raster.getSampleModel().getSampleSize(0) - 8;
            for (int i = 0; i < n; i++) {
                byte g = (byte) (shift > 0 ? grey[i] >>> shift : grey[i]);
                for (int c = 0; c < channels; c++) px[i * channels + c] = g;
            }
        } else if (bgr != null) { // colour read as grey
            for (int i = 0; i < n; i++) px[i] = luma(bgr[3 * i + 2] & 0xff, bgr[3 * i + 1] & 0xff, bgr[3 * i] & 0xff);
        } else {
            int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
            for (int i = 0; i < n; i++) {
                int r = (argb[i] >> 16) & 0xff, g = (argb[i] >> 8) & 0xff, b = argb[i] & 0xff;
                if (channels == 3) {
                    px[3 * i] = (byte) r;
                    px[3 * i + 1] = (byte) g;
                    px[3 * i + 2] = (byte) b;
                } else {
                    px[i] = luma(r, g, b);
                }
            }
        }
        return new Decoded(u8(px, h, w, channels), false);
    }

    // A natively decoded image [H, W, 1 or 3] with the channels asked for: grey repeated, or colour as PIL's luma.
    private static Tensor withChannels(Tensor image, int channels) {
        int h = (int) image.shape()[0], w = (int) image.shape()[1], c = (int) image.shape()[2], n = h * w;
        if (c == channels) return image;
        try (image) {
            byte[] in = image.segment().toArray(ValueLayout.JAVA_BYTE), px = new byte[n * channels];
            for (int i = 0; i < n; i++) {
                if (channels == 1) px[i] = luma(in[3 * i] & 0xff, in[3 * i + 1] & 0xff, in[3 * i + 2] & 0xff);
                else for (int k = 0; k < channels; k++) px[i * channels + k] = in[i];
            }
            return u8(px, h, w, channels);
        }
    }

    // PIL's convert("L"): L = R · 299/1000 + G · 587/1000 + B · 114/1000 in 16-bit fixed point.
    private static byte luma(int r, int g, int b) {
        return (byte) ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
    }

    private static Tensor u8(byte[] px, int h, int w, int c) {
        Tensor t = Tensor.zeros(DType.U8, h, w, c);
        MemorySegment.copy(px, 0, t.segment(), ValueLayout.JAVA_BYTE, 0, px.length);
        return t;
    }

    // The raster's bytes when they are exactly [H, W, 3] in B, G, R order (TYPE_3BYTE_BGR, what ImageIO gives for
    // colour JPEGs), else null.
    private static byte[] packedBgr(BufferedImage img) {
        if (img.getType() != BufferedImage.TYPE_3BYTE_BGR) return null;
        Raster r = img.getRaster();
        if (!(r.getSampleModel() instanceof PixelInterleavedSampleModel sm)
                || !(r.getDataBuffer() instanceof DataBufferByte db)) return null;
        int w = img.getWidth(), h = img.getHeight();
        boolean packed = sm.getPixelStride() == 3
                && sm.getScanlineStride() == 3 * w
                && r.getSampleModelTranslateX() == 0
                && r.getSampleModelTranslateY() == 0
                && db.getNumBanks() == 1
                && db.getOffset() == 0
                && Arrays.equals(sm.getBandOffsets(), new int[] {2, 1, 0})
                && db.getData().length == 3 * w * h;
        return packed ? db.getData() : null;
    }

    /** One decoded file: U8 [H, W, C] interleaved, its three channels in the order B, G, R when {@code bgr}. */
    record Decoded(Tensor image, boolean bgr) implements AutoCloseable {
        int height() {
            return (int) image.shape()[0];
        }

        int width() {
            return (int) image.shape()[1];
        }

        /** The plane of a planar [C, ...] result of this image that holds channel {@code k} (R, G, B or grey). */
        int plane(int k) {
            return bgr ? 2 - k : k;
        }

        /** A planar U8 [C, H', W'] result of this image as bytes, its planes in the order R, G, B. */
        byte[] planes(Tensor planar) {
            MemorySegment s = planar.segment();
            if (!bgr) return s.toArray(ValueLayout.JAVA_BYTE);
            int plane = (int) (s.byteSize() / 3);
            byte[] out = new byte[3 * plane];
            for (int k = 0; k < 3; k++)
                MemorySegment.copy(s, ValueLayout.JAVA_BYTE, (long) plane(k) * plane, out, k * plane, plane);
            return out;
        }

        @Override
        public void close() {
            image.close();
        }
    }
}
