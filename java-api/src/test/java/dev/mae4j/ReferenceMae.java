package dev.mae4j;

import java.util.HashMap;
import java.util.Map;

/**
 * An independent, plain-Java, double-precision MAE forward pass written from models_mae.py and
 * pos_embed.py, and the fine-tuning classifier's from models_vit.py: loops, no libtorch. Tests compare
 * libmae against it on the same weights and noise.
 */
final class ReferenceMae {
    record Output(double loss, double[] pred, double[] mask, long[] idsRestore, double[] latent, int lenKeep) {}

    private final MaeConfig c;
    private final Map<String, double[]> w = new HashMap<>();

    /** Copies every parameter of {@code model}. */
    ReferenceMae(Model model) {
        c = model.config();
        for (ParameterInfo p : model.parameters()) {
            try (Tensor t = model.parameter(p.name())) {
                w.put(p.name(), t.toDoubleArray());
            }
        }
    }

    /** Copies every parameter of {@code classifier} (models_vit naming). */
    ReferenceMae(Classifier classifier) {
        c = classifier.config();
        for (ParameterInfo p : classifier.parameters()) {
            try (Tensor t = classifier.parameter(p.name())) {
                w.put(p.name(), t.toDoubleArray());
            }
        }
    }

    double[] param(String name) {
        return w.get(name);
    }

    /** 2-D sine-cosine table [1 + g², dim], written from get_2d_sincos_pos_embed (meshgrid: width first). */
    static double[] sincosTable(int dim, int g) {
        double[] t = new double[(1 + g * g) * dim];
        int quarter = dim / 4;
        for (int i = 0; i < g; i++) { // row (h)
            for (int j = 0; j < g; j++) { // column (w)
                int row = 1 + i * g + j;
                for (int k = 0; k < quarter; k++) {
                    double omega = 1.0 / Math.pow(10000.0, k / (double) quarter);
                    t[row * dim + k] = Math.sin(j * omega);
                    t[row * dim + quarter + k] = Math.cos(j * omega);
                    t[row * dim + 2 * quarter + k] = Math.sin(i * omega);
                    t[row * dim + 3 * quarter + k] = Math.cos(i * omega);
                }
            }
        }
        return t;
    }

    /** imgs [N, C, H, W], noise [N, L]. */
    Output forward(double[] imgs, int n, double[] noise, double maskRatio) {
        int p = c.patchSize(), g = c.gridSize(), L = c.numPatches(), C = c.inChans(), H = c.imgSize();
        int D = c.embedDim(), Dd = c.decoderEmbedDim(), P = c.patchDim();
        int keep = (int) (L * (1 - maskRatio));

        double[] pos = w.get("pos_embed");
        double[][][] x = embedPatches(imgs, n);

        // random masking: argsort noise (ties: lower index first), keep the first len_keep
        long[] idsRestore = new long[n * L];
        double[] mask = new double[n * L];
        double[][][] tokens = new double[n][1 + keep][];
        double[] cls = w.get("cls_token");
        for (int b = 0; b < n; b++) {
            final int bb = b;
            Integer[] order = new Integer[L];
            for (int l = 0; l < L; l++) order[l] = l;
            java.util.Arrays.sort(order, (u, v) -> Double.compare(noise[bb * L + u], noise[bb * L + v]));
            for (int k = 0; k < L; k++) {
                idsRestore[b * L + order[k]] = k;
                mask[b * L + order[k]] = k < keep ? 0 : 1;
            }
            tokens[b][0] = new double[D];
            for (int d = 0; d < D; d++) tokens[b][0][d] = cls[d] + pos[d];
            for (int k = 0; k < keep; k++) tokens[b][1 + k] = x[b][order[k]].clone();
        }

        // encoder
        for (int i = 0; i < c.depth(); i++)
            for (int b = 0; b < n; b++) tokens[b] = block("blocks." + i + ".", tokens[b], c.numHeads());
        double[] latent = new double[n * (1 + keep) * D];
        for (int b = 0; b < n; b++)
            for (int t = 0; t <= keep; t++) {
                double[] y = layerNorm(tokens[b][t], "norm.");
                tokens[b][t] = y;
                System.arraycopy(y, 0, latent, (b * (1 + keep) + t) * D, D);
            }

        // decoder: embed, mask tokens into the removed slots, unshuffle, position table
        double[] mt = w.get("mask_token"), dpos = w.get("decoder_pos_embed");
        double[] pred = new double[n * L * P];
        for (int b = 0; b < n; b++) {
            double[][] e = new double[1 + keep][];
            for (int t = 0; t <= keep; t++) e[t] = linear(tokens[b][t], "decoder_embed.");
            double[][] seq = new double[1 + L][];
            seq[0] = e[0];
            for (int l = 0; l < L; l++) {
                int k = (int) idsRestore[b * L + l];
                seq[1 + l] = k < keep ? e[1 + k].clone() : mt.clone();
            }
            for (int t = 0; t <= L; t++) for (int d = 0; d < Dd; d++) seq[t][d] += dpos[t * Dd + d];
            for (int i = 0; i < c.decoderDepth(); i++)
                seq = block("decoder_blocks." + i + ".", seq, c.decoderNumHeads());
            for (int l = 0; l < L; l++) {
                double[] y = linear(layerNorm(seq[1 + l], "decoder_norm."), "decoder_pred.");
                System.arraycopy(y, 0, pred, (b * L + l) * P, P);
            }
        }

        // loss on removed patches; the target is the patchified image, (row, column, channel) per patch
        double num = 0, den = 0;
        for (int b = 0; b < n; b++)
            for (int i = 0; i < g; i++)
                for (int j = 0; j < g; j++) {
                    int l = i * g + j;
                    double[] target = new double[P];
                    for (int r = 0; r < p; r++)
                        for (int q = 0; q < p; q++)
                            for (int ch = 0; ch < C; ch++)
                                target[(r * p + q) * C + ch] = imgs[((b * C + ch) * H + i * p + r) * H + j * p + q];
                    if (c.normPixLoss()) normalisePatch(target);
                    double se = 0;
                    for (int k = 0; k < P; k++) {
                        double dlt = pred[(b * L + l) * P + k] - target[k];
                        se += dlt * dlt;
                    }
                    num += se / P * mask[b * L + l];
                    den += mask[b * L + l];
                }
        return new Output(num / den, pred, mask, idsRestore, latent, keep);
    }

    /** Patch embedding (a conv with kernel = stride = p) plus the position table without its [CLS] row: [N][L][D]. */
    private double[][][] embedPatches(double[] imgs, int n) {
        int p = c.patchSize(), g = c.gridSize(), L = c.numPatches(), C = c.inChans(), H = c.imgSize(), D = c.embedDim();
        double[] pw = w.get("patch_embed.proj.weight"), pb = w.get("patch_embed.proj.bias"), pos = w.get("pos_embed");
        double[][][] x = new double[n][L][D];
        for (int b = 0; b < n; b++)
            for (int i = 0; i < g; i++)
                for (int j = 0; j < g; j++)
                    for (int d = 0; d < D; d++) {
                        double s = pb[d];
                        for (int ch = 0; ch < C; ch++)
                            for (int r = 0; r < p; r++)
                                for (int q = 0; q < p; q++)
                                    s += pw[((d * C + ch) * p + r) * p + q]
                                            * imgs[((b * C + ch) * H + i * p + r) * H + j * p + q];
                        x[b][i * g + j][d] = s + pos[(1 + i * g + j) * D + d];
                    }
        return x;
    }

    /**
     * models_vit.VisionTransformer(global_pool=True).forward on a classifier's weights: [CLS] + patches with
     * the position table, the blocks, the mean of the patch tokens, fc_norm, head. Logits [N · classes].
     */
    double[] classifierLogits(double[] imgs, int n) {
        int L = c.numPatches(), D = c.embedDim();
        double[] cls = w.get("cls_token"), pos = w.get("pos_embed");
        int classes = w.get("head.bias").length;
        double[][][] x = embedPatches(imgs, n);
        double[] logits = new double[n * classes];
        for (int b = 0; b < n; b++) {
            double[][] seq = new double[1 + L][];
            seq[0] = new double[D];
            for (int d = 0; d < D; d++) seq[0][d] = cls[d] + pos[d];
            for (int l = 0; l < L; l++) seq[1 + l] = x[b][l];
            for (int i = 0; i < c.depth(); i++) seq = block("blocks." + i + ".", seq, c.numHeads());
            double[] pooled = new double[D];
            for (int l = 1; l <= L; l++) for (int d = 0; d < D; d++) pooled[d] += seq[l][d] / L;
            System.arraycopy(linear(layerNorm(pooled, "fc_norm."), "head."), 0, logits, b * classes, classes);
        }
        return logits;
    }

    /** timm's LabelSmoothingCrossEntropy averaged over the batch: (1 − s)·nll + s·mean over classes of −log p. */
    static double smoothedCrossEntropy(double[] logits, long[] labels, int classes, double s) {
        double total = 0;
        for (int b = 0; b < labels.length; b++) {
            double max = Double.NEGATIVE_INFINITY, z = 0;
            for (int k = 0; k < classes; k++) max = Math.max(max, logits[b * classes + k]);
            for (int k = 0; k < classes; k++) z += Math.exp(logits[b * classes + k] - max);
            double logZ = max + Math.log(z), meanNeg = 0;
            for (int k = 0; k < classes; k++) meanNeg += (logZ - logits[b * classes + k]) / classes;
            total += (1 - s) * (logZ - logits[b * classes + (int) labels[b]]) + s * meanNeg;
        }
        return total / labels.length;
    }

    /** (x − mean) / sqrt(var + 1e-6), var unbiased. */
    static void normalisePatch(double[] t) {
        double mean = 0;
        for (double v : t) mean += v;
        mean /= t.length;
        double var = 0;
        for (double v : t) var += (v - mean) * (v - mean);
        var /= t.length - 1;
        double sd = Math.sqrt(var + 1e-6);
        for (int k = 0; k < t.length; k++) t[k] = (t[k] - mean) / sd;
    }

    private double[][] block(String prefix, double[][] x, int heads) {
        int T = x.length, D = x[0].length, hd = D / heads;
        double[][] qkv = new double[T][];
        for (int t = 0; t < T; t++) qkv[t] = linear(layerNorm(x[t], prefix + "norm1."), prefix + "attn.qkv.");
        double[][] attnOut = new double[T][D];
        double scale = 1.0 / Math.sqrt(hd);
        for (int h = 0; h < heads; h++)
            for (int t = 0; t < T; t++) {
                double[] logits = new double[T];
                double max = Double.NEGATIVE_INFINITY;
                for (int s = 0; s < T; s++) {
                    double dot = 0;
                    for (int e = 0; e < hd; e++) dot += qkv[t][h * hd + e] * qkv[s][D + h * hd + e];
                    logits[s] = dot * scale;
                    max = Math.max(max, logits[s]);
                }
                double z = 0;
                for (int s = 0; s < T; s++) z += logits[s] = Math.exp(logits[s] - max);
                for (int s = 0; s < T; s++)
                    for (int e = 0; e < hd; e++) attnOut[t][h * hd + e] += logits[s] / z * qkv[s][2 * D + h * hd + e];
            }
        double[][] y = new double[T][];
        for (int t = 0; t < T; t++) {
            double[] a = linear(attnOut[t], prefix + "attn.proj.");
            y[t] = new double[D];
            for (int d = 0; d < D; d++) y[t][d] = x[t][d] + a[d];
            double[] h1 = linear(layerNorm(y[t], prefix + "norm2."), prefix + "mlp.fc1.");
            for (int k = 0; k < h1.length; k++) h1[k] = gelu(h1[k]);
            double[] h2 = linear(h1, prefix + "mlp.fc2.");
            for (int d = 0; d < D; d++) y[t][d] += h2[d];
        }
        return y;
    }

    private double[] linear(double[] x, String prefix) {
        double[] wt = w.get(prefix + "weight"), b = w.get(prefix + "bias");
        int out = b.length, in = x.length;
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double s = b[o];
            for (int i = 0; i < in; i++) s += wt[o * in + i] * x[i];
            y[o] = s;
        }
        return y;
    }

    private double[] layerNorm(double[] x, String prefix) {
        double[] wt = w.get(prefix + "weight"), b = w.get(prefix + "bias");
        double mean = 0, var = 0;
        for (double v : x) mean += v;
        mean /= x.length;
        for (double v : x) var += (v - mean) * (v - mean);
        var /= x.length; // biased, as LayerNorm
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = (x[i] - mean) / Math.sqrt(var + 1e-6) * wt[i] + b[i];
        return y;
    }

    /** GELU, erf form: x·Φ(x). */
    static double gelu(double x) {
        return 0.5 * x * (1 + erf(x / Math.sqrt(2)));
    }

    /** erf by its Maclaurin series (|x| < 2.5) or the continued fraction of erfc; ~1e-14 accurate. */
    static double erf(double x) {
        double a = Math.abs(x);
        double r;
        if (a < 2.5) {
            double term = a, sum = a;
            for (int k = 1; k < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); k++) {
                term *= -a * a / k;
                sum += term / (2 * k + 1);
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            // erfc(a) = exp(−a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + ...)))), evaluated bottom-up
            double f = a;
            for (int k = 60; k >= 1; k--) f = a + (k / 2.0) / f;
            r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
        }
        return x < 0 ? -r : r;
    }
}
