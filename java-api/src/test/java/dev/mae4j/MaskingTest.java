package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Masks: hand-derived for given noise, and the invariants of random ones. */
class MaskingTest {
    // 4 patches per image: 4 px, patch 2.
    private static final MaeConfig FOUR_PATCHES = MaeConfig.builder()
            .imgSize(4)
            .patchSize(2)
            .inChans(1)
            .embedDim(8)
            .depth(1)
            .numHeads(2)
            .decoderEmbedDim(8)
            .decoderDepth(1)
            .decoderNumHeads(2)
            .build();

    @Test
    void maskIsTheHandDerivedOneForGivenNoise() {
        double[] noise = {
            0.5, 0.1, 0.9, 0.3, // argsort [1, 3, 0, 2]: keep patches 1 and 3
            0.2, 0.8, 0.4, 0.6
        }; // argsort [0, 2, 3, 1]: keep patches 0 and 2
        try (Model model = Model.create(FOUR_PATCHES, Device.cpu(), 0);
                Tensor images = Tensor.fromFloats(new float[2 * 16], 2, 1, 4, 4);
                Tensor noiseT = Tensor.fromDoubles(noise, 2, 4);
                Masker masker = Masker.fromNoise(noiseT, 0.5);
                ForwardResult r = model.forward(images, masker)) {
            assertArrayEquals(new double[] {1, 0, 1, 0, 0, 1, 0, 1}, r.mask().toDoubleArray());
            // ids_restore[l] = rank of patch l's noise
            assertArrayEquals(
                    new long[] {2, 0, 3, 1, 0, 3, 1, 2}, r.idsRestore().toLongArray());
            assertArrayEquals(new long[] {2, 3, 8}, r.latent().shape()); // [CLS] + 2 kept
        }
    }

    @Test
    void keptCountIsFloorOfLTimesOneMinusRatio() {
        MaeConfig c = MaeConfig.tiny(); // L = 16
        double[][] cases = {{0.75, 4}, {0.6, 6}, {0.5, 8}, {0.0, 16}, {0.99, 0}}; // 16·0.4 = 6.4 -> 6
        for (double[] cs : cases) {
            try (Model model = Model.create(c, Device.cpu(), 0);
                    Tensor images = Tensor.fromFloats(TestData.toFloats(TestData.gaussian(2 * 128, 1)), 2, 2, 8, 8);
                    Masker masker = Masker.random(cs[0], 3);
                    ForwardResult r = model.forward(images, masker)) {
                assertEquals((long) cs[1] + 1, r.latent().shape()[1], "ratio " + cs[0]);
            }
        }
    }

    @Test
    void randomMasksRemoveExactlyTheRightCountAndIdsRestoreInvertsTheShuffle() {
        MaeConfig c = MaeConfig.tiny();
        int n = 6, L = c.numPatches(), keep = 4;
        try (Model model = Model.create(c, Device.cpu(), 0);
                Tensor images = Tensor.fromFloats(TestData.toFloats(TestData.gaussian(n * 128, 2)), n, 2, 8, 8);
                Masker masker = Masker.random(0.75, 42);
                ForwardResult r = model.forward(images, masker)) {
            double[] mask = r.mask().toDoubleArray();
            long[] ids = r.idsRestore().toLongArray();
            for (int b = 0; b < n; b++) {
                long[] row = Arrays.copyOfRange(ids, b * L, (b + 1) * L);
                long[] sorted = row.clone();
                Arrays.sort(sorted);
                for (int k = 0; k < L; k++) assertEquals(k, sorted[k], "ids_restore row " + b + " is a permutation");
                int removed = 0;
                for (int l = 0; l < L; l++) {
                    // patch l sits at rank ids_restore[l] of the shuffle; ranks >= len_keep are removed
                    assertEquals(row[l] >= keep ? 1.0 : 0.0, mask[b * L + l], "mask[" + b + "," + l + "]");
                    removed += (int) mask[b * L + l];
                }
                assertEquals(L - keep, removed, "removed patches in row " + b);
            }
        }
    }

    @Test
    void sameSeedSameMasksOtherSeedOtherMasks() {
        MaeConfig c = MaeConfig.tiny();
        try (Model model = Model.create(c, Device.cpu(), 0);
                Tensor images = Tensor.fromFloats(TestData.toFloats(TestData.gaussian(4 * 128, 2)), 4, 2, 8, 8);
                Masker a = Masker.random(0.75, 5);
                Masker b = Masker.random(0.75, 5);
                Masker other = Masker.random(0.75, 6);
                ForwardResult ra = model.forward(images, a);
                ForwardResult rb = model.forward(images, b);
                ForwardResult ro = model.forward(images, other);
                ForwardResult ra2 = model.forward(images, a)) {
            assertArrayEquals(ra.mask().toDoubleArray(), rb.mask().toDoubleArray());
            assertFalse(Arrays.equals(ra.mask().toDoubleArray(), ro.mask().toDoubleArray()));
            // the generator advances: the next batch gets new masks
            assertFalse(Arrays.equals(ra.mask().toDoubleArray(), ra2.mask().toDoubleArray()));
        }
    }

    private static double[] masks(Masker masker, MaeConfig c, int n) {
        try (Model model = Model.create(c, Device.cpu(), 0);
                Tensor images = Tensor.fromFloats(
                        new float[n * c.inChans() * c.imgSize() * c.imgSize()],
                        n,
                        c.inChans(),
                        c.imgSize(),
                        c.imgSize());
                ForwardResult r = model.forward(images, masker)) {
            return r.mask().toDoubleArray();
        }
    }

    @Test
    void gridMasksKeepOnePatchOfEveryTwoByTwo() {
        MaeConfig c = MaeConfig.tiny(); // a 4 × 4 grid: 4 patches kept, exactly the grid
        try (Masker grid = Masker.grid(0.75, 1)) {
            double[] mask = masks(grid, c, 6);
            for (int b = 0; b < 6; b++) {
                int oy = -1, ox = -1;
                for (int l = 0; l < 16; l++)
                    if (mask[b * 16 + l] == 0 && oy < 0) {
                        oy = (l / 4) % 2;
                        ox = (l % 4) % 2;
                    }
                for (int l = 0; l < 16; l++) {
                    boolean onGrid = (l / 4) % 2 == oy && (l % 4) % 2 == ox;
                    assertEquals(onGrid ? 0.0 : 1.0, mask[b * 16 + l], "image " + b + " patch " + l);
                }
            }
        }
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Masker.grid(0.6, 1));
    }

    @Test
    void blockMasksRemoveTheExactCountInCompactRegions() {
        // 16 px, patch 2: an 8 × 8 grid, 32 patches removed
        MaeConfig c = MaeConfig.tiny().toBuilder().imgSize(16).build();
        double blockNeighbours = 0, randomNeighbours = 0;
        try (Masker block = Masker.blockwise(0.5, 3);
                Masker random = Masker.random(0.5, 3)) {
            double[] b = masks(block, c, 40), r = masks(random, c, 40);
            for (int i = 0; i < 40; i++) {
                assertEquals(
                        32, java.util.Arrays.stream(b, i * 64, (i + 1) * 64).sum(), "removed in image " + i);
                blockNeighbours += removedNeighbourPairs(b, i);
                randomNeighbours += removedNeighbourPairs(r, i);
            }
        }
        // random masks: about 112 · 1/4 · 32/63·… ≈ 27 adjacent removed pairs per image; rectangles give far more
        org.junit.jupiter.api.Assertions.assertTrue(
                blockNeighbours > 1.5 * randomNeighbours,
                "block masks are not compact: " + blockNeighbours + " vs " + randomNeighbours
                        + " adjacent removed pairs");
    }

    private static int removedNeighbourPairs(double[] mask, int image) {
        int pairs = 0;
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++) {
                if (mask[image * 64 + y * 8 + x] != 1) continue;
                if (x < 7 && mask[image * 64 + y * 8 + x + 1] == 1) pairs++;
                if (y < 7 && mask[image * 64 + (y + 1) * 8 + x] == 1) pairs++;
            }
        return pairs;
    }
}
