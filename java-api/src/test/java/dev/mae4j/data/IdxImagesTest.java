package dev.mae4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxImagesTest {
    @TempDir
    Path dir;

    @Test
    void readsGzippedImagesAndLabels() throws IOException {
        IdxFiles.write(dir, "train", 5, 3, 2);
        IdxImages d = IdxImages.readSplit(dir, "train");
        assertEquals(5, d.count());
        assertEquals(3, d.rows());
        assertEquals(2, d.cols());
        assertEquals(4, d.labels()[4]);
        assertEquals((byte) (2 * 37 + 2 * 6 + 1), d.pixels()[2 * 6 + 1]);
        float[] out = new float[6];
        d.normalised(0, 0.5f, 0.5f, out, 0);
        assertEquals((0 / 255f - 0.5f) / 0.5f, out[0], 0f);
        assertEquals((5 / 255f - 0.5f) / 0.5f, out[5], 1e-7f);
    }

    @Test
    void badFilesAreRefusedWithTheirProblem() throws IOException {
        Path img = dir.resolve("x-images-idx3-ubyte");
        Files.write(
                img,
                ByteBuffer.allocate(16)
                        .putInt(0x801)
                        .putInt(1)
                        .putInt(2)
                        .putInt(2)
                        .array());
        assertMessage(img, null, "is not IDX unsigned-byte images");
        Files.write(
                img,
                ByteBuffer.allocate(18)
                        .putInt(0x803)
                        .putInt(1)
                        .putInt(2)
                        .putInt(2)
                        .array());
        assertMessage(img, null, "header says 4 pixel bytes, file has 2");
        Files.write(img, new byte[3]);
        assertMessage(img, null, "too short");
        Files.write(
                img,
                ByteBuffer.allocate(20)
                        .putInt(0x803)
                        .putInt(1)
                        .putInt(2)
                        .putInt(2)
                        .array());
        Path lab = dir.resolve("x-labels-idx1-ubyte");
        Files.write(lab, ByteBuffer.allocate(10).putInt(0x801).putInt(2).array());
        assertMessage(img, lab, "2 labels for 1 images");
        IOException e = assertThrows(IOException.class, () -> IdxImages.readSplit(dir, "absent"));
        assertTrue(e.getMessage().contains("dataset-fashion-mnist"), e.getMessage());
    }

    private static void assertMessage(Path img, Path lab, String part) {
        IOException e = assertThrows(IOException.class, () -> IdxImages.read(img, lab));
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
