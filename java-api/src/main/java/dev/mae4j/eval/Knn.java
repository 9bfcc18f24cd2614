package dev.mae4j.eval;

/**
 * A weighted k-nearest-neighbour classifier on cosine similarity of frozen features (as DINO's kNN
 * evaluation: the k most similar training features vote with weight exp(similarity / 0.07)).
 */
public final class Knn {
    private Knn() {}

    /** Top-1 accuracy in [0, 1] of classifying {@code test} by its {@code k} nearest {@code train} features. */
    public static double accuracy(
            float[][] train, int[] trainLabels, float[][] test, int[] testLabels, int k, int classes) {
        float[][] a = normalised(train), b = normalised(test);
        int hits = 0;
        double[] sims = new double[k];
        int[] labels = new int[k];
        for (int t = 0; t < b.length; t++) {
            java.util.Arrays.fill(sims, Double.NEGATIVE_INFINITY);
            for (int i = 0; i < a.length; i++) {
                double s = 0;
                for (int j = 0; j < a[i].length; j++) s += a[i][j] * b[t][j];
                if (s > sims[k - 1]) { // insert into the sorted top k
                    int pos = k - 1;
                    while (pos > 0 && sims[pos - 1] < s) {
                        sims[pos] = sims[pos - 1];
                        labels[pos] = labels[pos - 1];
                        pos--;
                    }
                    sims[pos] = s;
                    labels[pos] = trainLabels[i];
                }
            }
            double[] votes = new double[classes];
            for (int j = 0; j < k && sims[j] > Double.NEGATIVE_INFINITY; j++)
                votes[labels[j]] += Math.exp(sims[j] / 0.07);
            int best = 0;
            for (int c = 1; c < classes; c++) if (votes[c] > votes[best]) best = c;
            if (best == testLabels[t]) hits++;
        }
        return (double) hits / b.length;
    }

    private static float[][] normalised(float[][] x) {
        float[][] out = new float[x.length][];
        for (int i = 0; i < x.length; i++) {
            double norm = 0;
            for (float v : x[i]) norm += v * v;
            float inv = (float) (1 / Math.max(Math.sqrt(norm), 1e-12));
            out[i] = new float[x[i].length];
            for (int j = 0; j < x[i].length; j++) out[i][j] = x[i][j] * inv;
        }
        return out;
    }
}
