package dev.mae4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mae4j.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardTest {
    @TempDir
    Path dir;

    private static final float[] MEAN = {0.5f, 0.25f}, STD = {0.5f, 2f};

    /** 5 images of 2 × 3 × 4 whose byte k of image i is (i · 24 + k) mod 256. */
    private Path five() throws IOException {
        Path file = dir.resolve("five.maeshard");
        Shard.write(
                file,
                5,
                2,
                3,
                4,
                3,
                i -> {
                    byte[] b = new byte[24];
                    for (int k = 0; k < 24; k++) b[k] = (byte) (i * 24 + k);
                    return b;
                },
                i -> i == 4 ? -1 : i % 3);
        return file;
    }

    @Test
    void nativeBatchesEqualThePixelsNormalised() throws IOException {
        try (Shard s = Shard.open(five(), MEAN, STD)) {
            assertEquals(5, s.size());
            assertEquals(3, s.classes());
            assertEquals(-1, s.label(4));
            assertEquals(2, s.label(2));
            int[] pick = {3, 0, 3};
            float[] expected = new float[3 * 24];
            for (int i = 0; i < 3; i++)
                for (int k = 0; k < 24; k++)
                    expected[i * 24 + k] = (((pick[i] * 24 + k) & 0xff) / 255f - MEAN[k / 12]) / STD[k / 12];
            try (Tensor batch = s.batch(pick)) {
                assertArrayEquals(new long[] {3, 2, 3, 4}, batch.shape());
                assertArrayEquals(expected, batch.toFloatArray(), 1e-6f);
            }
            float[] one = new float[24];
            s.copyNormalised(3, one, 0);
            assertArrayEquals(Arrays.copyOf(expected, 24), one, 1e-6f);
        }
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left");
        }
    }

    @Test
    void damagedShardsAreRefusedWithTheProblem() throws IOException {
        byte[] good = Files.readAllBytes(five());
        assertMessage(Arrays.copyOf(good, good.length - 1), "the header needs");
        byte[] magic = good.clone();
        magic[0] = 'X';
        assertMessage(magic, "bad magic");
        byte[] label = good.clone();
        ByteBuffer.wrap(label).order(ByteOrder.LITTLE_ENDIAN).putInt(40, 7);
        assertMessage(label, "label 7 of image 0");
        byte[] count = good.clone();
        ByteBuffer.wrap(count).order(ByteOrder.LITTLE_ENDIAN).putLong(24, Long.MAX_VALUE / 2);
        assertMessage(count, "bad shard dimensions");
        assertMessage(new byte[10], "shorter than a shard header");
        try (Shard s = Shard.open(five(), MEAN, STD)) {
            assertThrows(IllegalArgumentException.class, () -> s.batch(new int[] {5}));
        }
    }

    private void assertMessage(byte[] content, String part) throws IOException {
        Path f = dir.resolve("bad.maeshard");
        Files.write(f, content);
        IOException e = assertThrows(IOException.class, () -> Shard.open(f, MEAN, STD));
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
