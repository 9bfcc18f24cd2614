package dev.mae4j.data;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * A folder of JPEG and PNG images: each sub-folder is a class (sorted by name, as torchvision's
 * ImageFolder), images directly in the folder are unlabeled (label -1). Every image is resized to
 * size × size (bilinear) and normalised per channel. Files that are not readable images are skipped when the
 * folder is scanned, with a warning, and counted; one that fails to decode later ends the run with an
 * error that names it.
 */
public final class ImageFolder implements LabelledDataset {
    private static final Logger LOG = Logger.getLogger(ImageFolder.class.getName());
    private static final List<String> EXTENSIONS = List.of(".jpg", ".jpeg", ".png");

    private final List<Path> files = new ArrayList<>();
    private final List<Integer> labels = new ArrayList<>();
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
        if (channels != 1 && channels != 3) throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
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
                        byClass.put(p.getFileName().toString(), inner.filter(ImageFolder::isImageName).sorted().toList());
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
                if (reader.getWidth(0) <= 0 || reader.getHeight(0) <= 0) throw new IOException("empty image");
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

    public int size() { return files.size(); }
    public int channels() { return channels; }
    public int height() { return size; }
    public int width() { return size; }

    /** Class names, in label order. */
    public List<String> classes() { return classes; }

    /** The label of image {@code index}: its class's index, or -1 when it lies directly in the root. */
    public int label(int index) { return labels.get(index); }

    /** The number of sub-folders. */
    public int classCount() { return classes.size(); }

    /** Files skipped while scanning because they were not readable images. */
    public int skipped() { return skipped; }

    public Path file(int index) { return files.get(index); }

    @Override
    public void copyNormalised(int index, float[] dst, int offset) {
        decode(files.get(index), size, channels, mean, std, dst, offset);
    }

    /**
     * Decodes one JPEG or PNG file, resizes it to size × size (bilinear) and writes its normalised channel
     * planes at {@code dst[offset...]}; throws UncheckedIOException naming the file when it cannot.
     */
    public static void decode(Path p, int size, int channels, float[] mean, float[] std, float[] dst, int offset) {
        byte[] px = decodePixels(p, size, channels);
        int plane = size * size;
        for (int c = 0; c < channels; c++) {
            float m = mean[c], s = std[c];
            for (int i = 0; i < plane; i++) dst[offset + c * plane + i] = ((px[c * plane + i] & 0xff) / 255f - m) / s;
        }
    }

    /** The 8-bit channel planes [C, H, W] of one image resized to size × size. */
    public static byte[] decodePixels(Path p, int size, int channels) {
        BufferedImage img;
        try {
            img = ImageIO.read(p.toFile());
        } catch (IOException | RuntimeException e) {
            throw new UncheckedIOException(new IOException("cannot decode " + p + ": " + e.getMessage(), e));
        }
        if (img == null) throw new UncheckedIOException(new IOException("cannot decode " + p));
        BufferedImage resized = new BufferedImage(size, size, channels == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_3BYTE_BGR);
        var g = resized.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(img, 0, 0, size, size, null);
        g.dispose();
        int[] px = resized.getRaster().getPixels(0, 0, size, size, (int[]) null);  // interleaved channels, RGB order
        int plane = size * size;
        byte[] planes = new byte[channels * plane];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < plane; i++) planes[c * plane + i] = (byte) px[i * channels + c];
        return planes;
    }
}
