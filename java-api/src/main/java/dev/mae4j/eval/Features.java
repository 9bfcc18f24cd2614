package dev.mae4j.eval;

import dev.mae4j.ImageDataset;
import dev.mae4j.Model;
import dev.mae4j.Tensor;

/** Frozen encoder features of dataset images, for probes. */
public final class Features {
    /** How a [1 + L, D] token sequence becomes one vector. */
    public enum Pooling {
        /** The [CLS] token (the reference's linear probe). */
        CLS,
        /** The mean of the patch tokens (global pooling). */
        MEAN
    }

    private Features() {}

    /** Features [indices.length][D] of the images at {@code indices}, encoded in batches without masking. */
    public static float[][] extract(Model model, ImageDataset data, int[] indices, int batch, Pooling pooling) {
        return extract(model, data, indices, batch, new Pooling[] {pooling}).get(pooling);
    }

    /** As above for several poolings from one pass of the encoder. */
    public static java.util.Map<Pooling, float[][]> extract(
            Model model, ImageDataset data, int[] indices, int batch, Pooling... poolings) {
        int d = model.config().embedDim(), per = data.imageFloats();
        java.util.Map<Pooling, float[][]> out = new java.util.EnumMap<>(Pooling.class);
        for (Pooling p : poolings) out.put(p, new float[indices.length][]);
        float[] buf = new float[batch * per];
        for (int start = 0; start < indices.length; start += batch) {
            int n = Math.min(batch, indices.length - start);
            for (int i = 0; i < n; i++) data.copyNormalised(indices[start + i], buf, i * per);
            float[] in = n == batch ? buf : java.util.Arrays.copyOf(buf, n * per);
            try (Tensor images = Tensor.fromFloats(in, n, data.channels(), data.height(), data.width());
                    Tensor tokens = model.encode(images)) {
                float[] t = tokens.toFloatArray();
                int seq = (int) tokens.shape()[1];
                for (Pooling p : poolings)
                    for (int i = 0; i < n; i++) out.get(p)[start + i] = pool(t, i * seq * d, seq, d, p);
            }
        }
        return out;
    }

    private static float[] pool(float[] t, int base, int seq, int d, Pooling pooling) {
        float[] v = new float[d];
        if (pooling == Pooling.CLS) {
            System.arraycopy(t, base, v, 0, d);
            return v;
        }
        for (int s = 1; s < seq; s++) for (int k = 0; k < d; k++) v[k] += t[base + s * d + k];
        for (int k = 0; k < d; k++) v[k] /= seq - 1;
        return v;
    }
}
