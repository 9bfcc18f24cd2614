package dev.mae4j.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mae4j.Device;
import dev.mae4j.ImageDataset;
import dev.mae4j.MaeConfig;
import dev.mae4j.Model;
import dev.mae4j.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ProbesTest {
    /** n points of `classes` well-separated Gaussian clusters in d dimensions, with a large shared offset. */
    private static float[][] clusters(int n, int d, int classes, int[] labels, long seed) {
        Random r = new Random(seed);
        float[][] x = new float[n][d];
        for (int i = 0; i < n; i++) {
            labels[i] = i % classes;
            for (int k = 0; k < d; k++) x[i][k] = (float) (100 + (k == labels[i] ? 3 : 0) + 0.5 * r.nextGaussian());
        }
        return x;
    }

    @Test
    void linearProbeSeparatesClustersAndIsNearChanceOnNoise() {
        int[] y = new int[600], yt = new int[300];
        float[][] x = clusters(600, 8, 4, y, 1), xt = clusters(300, 8, 4, yt, 2);
        LinearProbe probe = LinearProbe.train(x, y, 4, 20, 0.1, 0);
        assertTrue(probe.accuracy(xt, yt) > 0.97, "accuracy " + probe.accuracy(xt, yt));
        int[] shuffled = new int[600];
        Random r = new Random(3);
        for (int i = 0; i < 600; i++) shuffled[i] = r.nextInt(4);
        double chance = LinearProbe.train(x, shuffled, 4, 20, 0.1, 0).accuracy(xt, yt);
        assertTrue(chance < 0.4, "labels without relation to the data must not be learnable: " + chance);
    }

    @Test
    void knnVotesByCosineSimilarity() {
        float[][] train = {{1, 0}, {0.9f, 0.1f}, {0, 1}, {0.1f, 0.9f}, {-1, 0}};
        int[] labels = {0, 0, 1, 1, 2};
        float[][] test = {{5, 0.5f}, {0.2f, 3}, {-2, 0.1f}};
        assertEquals(1.0, Knn.accuracy(train, labels, test, new int[] {0, 1, 2}, 1, 3), 0.0);
        assertEquals(2.0 / 3, Knn.accuracy(train, labels, test, new int[] {0, 1, 1}, 1, 3), 1e-12);
        // with k = 5 every point votes, but the closest dominate through exp(similarity / 0.07)
        assertEquals(1.0, Knn.accuracy(train, labels, test, new int[] {0, 1, 2}, 5, 3), 0.0);
    }

    @Test
    void featuresAreTheEncodersClsOrMeanToken() {
        MaeConfig c = MaeConfig.tiny();
        ImageDataset data = new ImageDataset() {
            public int size() {
                return 5;
            }

            public int channels() {
                return 2;
            }

            public int height() {
                return 8;
            }

            public int width() {
                return 8;
            }

            public void copyNormalised(int index, float[] dst, int offset) {
                for (int i = 0; i < 128; i++) dst[offset + i] = (float) Math.sin(index * 128 + i);
            }
        };
        try (Model model = Model.create(c, Device.cpu(), 0)) {
            int[] idx = {4, 1, 3};
            float[][] cls = Features.extract(model, data, idx, 2, Features.Pooling.CLS);
            float[][] mean = Features.extract(model, data, idx, 2, Features.Pooling.MEAN);
            float[] img = new float[128];
            data.copyNormalised(3, img, 0);
            try (Tensor t = Tensor.fromFloats(img, 1, 2, 8, 8);
                    Tensor tokens = model.encode(t)) {
                float[] all = tokens.toFloatArray();
                float[] expectedCls = java.util.Arrays.copyOf(all, 8), expectedMean = new float[8];
                for (int s = 1; s <= 16; s++) for (int k = 0; k < 8; k++) expectedMean[k] += all[s * 8 + k] / 16;
                assertArrayEquals(expectedCls, cls[2], 1e-6f);
                assertArrayEquals(expectedMean, mean[2], 1e-5f);
            }
        }
    }
}
