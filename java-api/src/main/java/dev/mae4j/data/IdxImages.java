package dev.mae4j.data;

import dev.mae4j.DType;
import dev.mae4j.LabelledDataset;
import dev.mae4j.Pixels;
import dev.mae4j.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Images and labels in the IDX format of MNIST and Fashion-MNIST (optionally gzip-compressed): unsigned
 * bytes, N × rows × cols, with labels as N unsigned bytes.
 *
 * @param pixels N·rows·cols values in 0..255, image after image
 * @param labels N class indices, or null when no label file was read
 */
public record IdxImages(int count, int rows, int cols, byte[] pixels, byte[] labels) {
    private static final int IMAGES_MAGIC = 0x00000803;
    private static final int LABELS_MAGIC = 0x00000801;
    private static final long MAX_BYTES = 1L << 31;

    /** Fashion-MNIST's training split as Debian's dataset-fashion-mnist package installs it. */
    public static final Path DEBIAN_FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");

    /** Reads {@code <dir>/<split>-images-idx3-ubyte[.gz]} and its labels, e.g. split "train" or "t10k". */
    public static IdxImages readSplit(Path dir, String split) throws IOException {
        Path images =
                firstExisting(dir.resolve(split + "-images-idx3-ubyte.gz"), dir.resolve(split + "-images-idx3-ubyte"));
        Path labels =
                firstExisting(dir.resolve(split + "-labels-idx1-ubyte.gz"), dir.resolve(split + "-labels-idx1-ubyte"));
        return read(images, labels);
    }

    private static Path firstExisting(Path a, Path b) throws IOException {
        if (Files.isRegularFile(a)) return a;
        if (Files.isRegularFile(b)) return b;
        throw new IOException(
                "neither " + a + " nor " + b + " exists" + " (Fashion-MNIST: apt-get install dataset-fashion-mnist)");
    }

    /** Reads an image file and, when {@code labelFile} is not null, its labels; checks magic numbers and sizes. */
    public static IdxImages read(Path imageFile, Path labelFile) throws IOException {
        ByteBuffer img = ByteBuffer.wrap(readMaybeGzip(imageFile));
        if (img.remaining() < 16) throw new IOException(imageFile + ": too short for an IDX image header");
        int magic = img.getInt();
        if (magic != IMAGES_MAGIC)
            throw new IOException(
                    imageFile + ": magic 0x" + Integer.toHexString(magic) + " is not IDX unsigned-byte images (0x803)");
        int n = img.getInt(), rows = img.getInt(), cols = img.getInt();
        if (n <= 0 || rows <= 0 || cols <= 0)
            throw new IOException(imageFile + ": bad dimensions " + n + " × " + rows + " × " + cols);
        long size = (long) n * rows * cols;
        if (size != img.remaining())
            throw new IOException(imageFile + ": header says " + size + " pixel bytes, file has " + img.remaining());
        byte[] pixels = new byte[(int) size];
        img.get(pixels);

        byte[] labels = null;
        if (labelFile != null) {
            ByteBuffer lab = ByteBuffer.wrap(readMaybeGzip(labelFile));
            if (lab.remaining() < 8) throw new IOException(labelFile + ": too short for an IDX label header");
            int lmagic = lab.getInt();
            if (lmagic != LABELS_MAGIC)
                throw new IOException(labelFile + ": magic 0x" + Integer.toHexString(lmagic)
                        + " is not IDX unsigned-byte labels (0x801)");
            int ln = lab.getInt();
            if (ln != n) throw new IOException(labelFile + ": " + ln + " labels for " + n + " images");
            if (lab.remaining() != n)
                throw new IOException(labelFile + ": header says " + n + " labels, file has " + lab.remaining());
            labels = new byte[n];
            lab.get(labels);
        }
        return new IdxImages(n, rows, cols, pixels, labels);
    }

    private static byte[] readMaybeGzip(Path file) throws IOException {
        try (InputStream raw = Files.newInputStream(file)) {
            byte[] head = raw.readNBytes(2);
            boolean gzip = head.length == 2 && (head[0] & 0xff) == 0x1f && (head[1] & 0xff) == 0x8b;
            InputStream rest = new java.io.SequenceInputStream(new java.io.ByteArrayInputStream(head), raw);
            InputStream in = gzip ? new GZIPInputStream(rest) : rest;
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[1 << 16];
            long total = 0;
            for (int r; (r = in.read(buf)) > 0; ) {
                total += r;
                if (total > MAX_BYTES) throw new IOException(file + ": larger than " + MAX_BYTES + " bytes");
                out.write(buf, 0, r);
            }
            return out.toByteArray();
        }
    }

    /**
     * These grey images as a dataset, scaled to [0, 1] then normalised with {@code mean} and {@code std}.
     * The pixels are copied off-heap once; batches are gathered and normalised natively. Labels are
     * −1 when no label file was read.
     */
    public LabelledDataset asDataset(float mean, float std) {
        IdxImages images = this;
        Tensor pool = Tensor.zeros(DType.U8, count, 1, rows, cols);
        MemorySegment.copy(pixels, 0, pool.segment(), ValueLayout.JAVA_BYTE, 0, pixels.length);
        int classes = 0;
        if (labels != null) for (byte b : labels) classes = Math.max(classes, (b & 0xff) + 1);
        int numClasses = classes;
        double[] m = {mean}, s = {std};
        return new LabelledDataset() {
            public int size() {
                return count;
            }

            public int channels() {
                return 1;
            }

            public int height() {
                return rows;
            }

            public int width() {
                return cols;
            }

            public int label(int index) {
                return labels == null ? -1 : labels[index] & 0xff;
            }

            public int classCount() {
                return numClasses;
            }

            public void copyNormalised(int index, float[] dst, int offset) {
                images.normalised(index, mean, std, dst, offset);
            }

            @Override
            public Tensor batch(int[] indices) {
                long[] idx = new long[indices.length];
                for (int i = 0; i < idx.length; i++) idx[i] = indices[i];
                return Pixels.gatherNormalized(pool, idx, m, s);
            }
        };
    }

    /** Image {@code index}, scaled to [0, 1] then normalised, written as floats at {@code dst[offset...]}. */
    public void normalised(int index, float mean, float std, float[] dst, int offset) {
        int size = rows * cols, base = index * size;
        for (int i = 0; i < size; i++) dst[offset + i] = ((pixels[base + i] & 0xff) / 255f - mean) / std;
    }
}
