package dev.mae4j.eval;

import java.util.Random;

/**
 * The paper's linear probe on frozen features: BatchNorm without affine parameters (here: standardised by
 * the training features' mean and variance, what BatchNorm converges to) and a linear softmax classifier,
 * trained with SGD, momentum 0.9 and a cosine learning rate.
 */
public final class LinearProbe {
    private final double[] mean, invStd;
    private final double[][] weights; // [classes][D + 1], bias last

    private LinearProbe(double[] mean, double[] invStd, double[][] weights) {
        this.mean = mean;
        this.invStd = invStd;
        this.weights = weights;
    }

    /** Trains on {@code x} (features) and {@code y} (labels in [0, classes)). */
    public static LinearProbe train(float[][] x, int[] y, int classes, int epochs, double lr, long seed) {
        int n = x.length, d = x[0].length;
        double[] mean = new double[d], var = new double[d], invStd = new double[d];
        for (float[] row : x) for (int k = 0; k < d; k++) mean[k] += row[k];
        for (int k = 0; k < d; k++) mean[k] /= n;
        for (float[] row : x) for (int k = 0; k < d; k++) var[k] += (row[k] - mean[k]) * (row[k] - mean[k]);
        for (int k = 0; k < d; k++) invStd[k] = 1 / Math.sqrt(var[k] / n + 1e-5); // BatchNorm's eps

        double[][] w = new double[classes][d + 1],
                velocity = new double[classes][d + 1],
                grad = new double[classes][d + 1];
        LinearProbe probe = new LinearProbe(mean, invStd, w);
        int batch = 256, steps = epochs * ((n + batch - 1) / batch), step = 0;
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Random r = new Random(seed);
        double[] z = new double[d], p = new double[classes];
        for (int e = 0; e < epochs; e++) {
            for (int i = n - 1; i > 0; i--) {
                int j = r.nextInt(i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            for (int start = 0; start < n; start += batch, step++) {
                int m = Math.min(batch, n - start);
                for (double[] g : grad) java.util.Arrays.fill(g, 0);
                for (int b = 0; b < m; b++) {
                    int i = order[start + b];
                    probe.standardise(x[i], z);
                    probe.softmax(z, p);
                    p[y[i]] -= 1; // d(cross-entropy)/d(logits)
                    for (int c = 0; c < classes; c++) {
                        for (int k = 0; k < d; k++) grad[c][k] += p[c] * z[k] / m;
                        grad[c][d] += p[c] / m;
                    }
                }
                double rate = lr * 0.5 * (1 + Math.cos(Math.PI * step / steps));
                for (int c = 0; c < classes; c++)
                    for (int k = 0; k <= d; k++) {
                        velocity[c][k] = 0.9 * velocity[c][k] + grad[c][k];
                        w[c][k] -= rate * velocity[c][k];
                    }
            }
        }
        return probe;
    }

    /** The predicted class of one feature vector. */
    public int predict(float[] features) {
        double[] z = new double[mean.length], p = new double[weights.length];
        standardise(features, z);
        softmax(z, p);
        int best = 0;
        for (int c = 1; c < p.length; c++) if (p[c] > p[best]) best = c;
        return best;
    }

    /** Top-1 accuracy in [0, 1]. */
    public double accuracy(float[][] x, int[] y) {
        int hits = 0;
        for (int i = 0; i < x.length; i++) if (predict(x[i]) == y[i]) hits++;
        return (double) hits / x.length;
    }

    private void standardise(float[] f, double[] z) {
        for (int k = 0; k < z.length; k++) z[k] = (f[k] - mean[k]) * invStd[k];
    }

    private void softmax(double[] z, double[] p) {
        int d = z.length;
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < p.length; c++) {
            double s = weights[c][d];
            for (int k = 0; k < d; k++) s += weights[c][k] * z[k];
            p[c] = s;
            max = Math.max(max, s);
        }
        double sum = 0;
        for (int c = 0; c < p.length; c++) sum += p[c] = Math.exp(p[c] - max);
        for (int c = 0; c < p.length; c++) p[c] /= sum;
    }
}
