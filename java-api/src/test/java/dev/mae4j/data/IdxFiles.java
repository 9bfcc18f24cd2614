package dev.mae4j.data;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/** Writes small IDX files for tests. */
public final class IdxFiles {
    private IdxFiles() {}

    /** {@code <dir>/<split>-images-idx3-ubyte.gz} and its labels: n images of rows × cols, pixel = (i + k) mod 256. */
    public static void write(Path dir, String split, int n, int rows, int cols) throws IOException {
        ByteBuffer img = ByteBuffer.allocate(16 + n * rows * cols)
                .putInt(0x803)
                .putInt(n)
                .putInt(rows)
                .putInt(cols);
        for (int i = 0; i < n * rows * cols; i++) img.put((byte) (i / (rows * cols) * 37 + i));
        ByteBuffer lab = ByteBuffer.allocate(8 + n).putInt(0x801).putInt(n);
        for (int i = 0; i < n; i++) lab.put((byte) (i % 10));
        gzip(dir.resolve(split + "-images-idx3-ubyte.gz"), img.array());
        gzip(dir.resolve(split + "-labels-idx1-ubyte.gz"), lab.array());
    }

    public static void gzip(Path file, byte[] content) throws IOException {
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            out.write(content);
        }
    }
}
