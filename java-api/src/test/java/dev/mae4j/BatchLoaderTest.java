package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class BatchLoaderTest {
    /** 10 one-pixel images whose value is their index. */
    private static final ImageDataset TEN = new ImageDataset() {
        public int size() {
            return 10;
        }

        public int channels() {
            return 1;
        }

        public int height() {
            return 1;
        }

        public int width() {
            return 1;
        }

        public void copyNormalised(int index, float[] dst, int offset) {
            dst[offset] = index;
        }
    };

    private static List<float[]> batches(long seed, long first, long end) throws InterruptedException {
        List<float[]> out = new ArrayList<>();
        try (BatchLoader l = new BatchLoader(TEN, 3, seed, first, end, 2)) {
            for (BatchLoader.Batch b; (b = l.next()) != null; ) {
                try (var t = b.images()) {
                    assertEquals(b.index() / 3, b.epoch()); // 3 batches of 3 per epoch; image 10 is dropped
                    out.add(t.toFloatArray());
                }
            }
            assertNull(l.next(), "the end stays the end");
        }
        return out;
    }

    @Test
    void epochsArePermutationsAndARestartSeesTheSameData() throws InterruptedException {
        List<float[]> all = batches(7, 0, 9);
        assertEquals(9, all.size());
        for (int e = 0; e < 3; e++) {
            float[] seen = new float[9];
            for (int b = 0; b < 3; b++) System.arraycopy(all.get(e * 3 + b), 0, seen, b * 3, 3);
            float[] sorted = seen.clone();
            Arrays.sort(sorted);
            for (int i = 1; i < 9; i++) assertFalse(sorted[i] == sorted[i - 1], "epoch " + e + " repeats an image");
        }
        assertFalse(Arrays.equals(all.get(0), all.get(3)), "each epoch has its own order");
        List<float[]> restarted = batches(7, 4, 9);
        for (int i = 0; i < 5; i++) assertArrayEquals(all.get(4 + i), restarted.get(i));
        assertFalse(Arrays.equals(all.get(0), batches(8, 0, 1).get(0)), "the seed decides the order");
    }

    @Test
    void aFailingDatasetSurfacesInNext() {
        ImageDataset broken = new ImageDataset() {
            public int size() {
                return 4;
            }

            public int channels() {
                return 1;
            }

            public int height() {
                return 1;
            }

            public int width() {
                return 1;
            }

            public void copyNormalised(int index, float[] dst, int offset) {
                throw new IllegalStateException("disk gone");
            }
        };
        try (BatchLoader l = new BatchLoader(broken, 2, 0, 0, 2, 1)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, l::next);
            assertEquals("loading batches failed: disk gone", e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new BatchLoader(TEN, 11, 0, 0, 1, 1));
    }
}
