package dev.mae4j.data;

import dev.mae4j.DType;
import dev.mae4j.LabelledDataset;
import dev.mae4j.Pixels;
import dev.mae4j.Tensor;
import dev.mae4j.io.AtomicFile;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * The packed shard format: fixed-size 8-bit images in one file, memory-mapped and handed to native code in
 * place. Layout, little-endian: the magic "MAESHRD1", int32 version 1, int32 channels, int32 height, int32
 * width, int64 count, int32 classes, int32 0; then count int32 labels (−1 = none); zero padding to a multiple
 * of 64; then count × C × H × W pixel bytes, image after image, channel planes in order.
 */
public final class Shard implements LabelledDataset, AutoCloseable {
    static final byte[] MAGIC = "MAESHRD1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    static final int HEADER = 40;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Arena arena;
    private final Tensor pool; // [count, C, H, W] U8, the mapping itself
    private final int[] labels;
    private final int channels, height, width, classes;
    private final double[] mean, std;
    private final float[] meanF, stdF;

    private Shard(
            Arena arena,
            Tensor pool,
            int[] labels,
            int channels,
            int height,
            int width,
            int classes,
            float[] mean,
            float[] std) {
        this.arena = arena;
        this.pool = pool;
        this.labels = labels;
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.classes = classes;
        this.meanF = mean.clone();
        this.stdF = std.clone();
        this.mean = new double[channels];
        this.std = new double[channels];
        for (int c = 0; c < channels; c++) {
            this.mean[c] = mean[c];
            this.std[c] = std[c];
        }
    }

    static long pixelsOffset(long count) {
        return (HEADER + 4 * count + 63) / 64 * 64;
    }

    /** Maps {@code file}, checking every header field against the file's size; {@code mean}/{@code std} per channel. */
    public static Shard open(Path file, float[] mean, float[] std) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER) throw new IOException(file + ": " + size + " bytes, shorter than a shard header");
            MemorySegment m = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            if (!Arrays.equals(m.asSlice(0, 8).toArray(ValueLayout.JAVA_BYTE), MAGIC))
                throw new IOException(file + ": not a mae4j shard (bad magic)");
            int version = m.get(INT, 8),
                    c = m.get(INT, 12),
                    h = m.get(INT, 16),
                    w = m.get(INT, 20),
                    classes = m.get(INT, 32);
            long count = m.get(LONG, 24);
            if (version != 1)
                throw new IOException(file + ": shard version " + version + ", this mae4j reads version 1");
            if (c <= 0 || h <= 0 || w <= 0 || count <= 0 || classes < 0 || count > Integer.MAX_VALUE)
                throw new IOException(file + ": bad shard dimensions " + count + " × " + c + " × " + h + " × " + w);
            if (mean.length != c || std.length != c)
                throw new IllegalArgumentException("mean and std need " + c + " values each for " + file);
            long expected;
            try {
                expected = Math.addExact(
                        pixelsOffset(count), Math.multiplyExact(count, Math.multiplyExact((long) c * h, w)));
            } catch (ArithmeticException e) {
                throw new IOException(file + ": shard dimensions overflow");
            }
            if (size != expected) throw new IOException(file + ": " + size + " bytes, the header needs " + expected);
            int[] labels = m.asSlice(HEADER, 4 * count).toArray(INT);
            for (int i = 0; i < labels.length; i++)
                if (labels[i] < -1 || labels[i] >= Math.max(classes, 0) && labels[i] != -1)
                    throw new IOException(
                            file + ": label " + labels[i] + " of image " + i + " is not in [-1, " + classes + ")");
            Tensor pool = Tensor.wrap(m.asSlice(pixelsOffset(count)), DType.U8, count, c, h, w);
            return new Shard(arena, pool, labels, c, h, w, classes, mean, std);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Writes a shard of {@code data}'s images (8-bit planes from {@code pixels}) atomically. */
    public static void write(
            Path file,
            int count,
            int channels,
            int height,
            int width,
            int classes,
            java.util.function.IntFunction<byte[]> pixels,
            java.util.function.IntUnaryOperator label)
            throws IOException {
        AtomicFile.write(file, ch -> {
            ByteBuffer head = ByteBuffer.allocate((int) pixelsOffset(count)).order(ByteOrder.LITTLE_ENDIAN);
            head.put(MAGIC)
                    .putInt(1)
                    .putInt(channels)
                    .putInt(height)
                    .putInt(width)
                    .putLong(count)
                    .putInt(classes)
                    .putInt(0);
            for (int i = 0; i < count; i++) head.putInt(label.applyAsInt(i));
            head.position(head.capacity()).flip();
            while (head.hasRemaining()) ch.write(head);
            int per = channels * height * width;
            for (int i = 0; i < count; i++) {
                byte[] px = pixels.apply(i);
                if (px.length != per)
                    throw new IllegalArgumentException("image " + i + " has " + px.length + " bytes, not " + per);
                ByteBuffer b = ByteBuffer.wrap(px);
                while (b.hasRemaining()) ch.write(b);
            }
        });
    }

    public int size() {
        return labels.length;
    }

    public int channels() {
        return channels;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    public int classes() {
        return classes;
    }

    public int label(int index) {
        return labels[index];
    }

    public int classCount() {
        return classes;
    }

    /** The whole shard as one U8 tensor [count, C, H, W] over the mapping. */
    public Tensor pool() {
        return pool;
    }

    /** Gathered and normalised natively, reading the mapping in place. */
    @Override
    public Tensor batch(int[] indices) {
        long[] idx = new long[indices.length];
        for (int i = 0; i < idx.length; i++) idx[i] = indices[i];
        return Pixels.gatherNormalized(pool, idx, mean, std);
    }

    @Override
    public void copyNormalised(int index, float[] dst, int offset) {
        int plane = height * width;
        MemorySegment img = pool.segment().asSlice((long) index * channels * plane, (long) channels * plane);
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < plane; i++)
                dst[offset + c * plane + i] =
                        ((img.get(ValueLayout.JAVA_BYTE, (long) c * plane + i) & 0xff) / 255f - meanF[c]) / stdF[c];
    }

    @Override
    public void close() {
        pool.close();
        arena.close();
    }
}
