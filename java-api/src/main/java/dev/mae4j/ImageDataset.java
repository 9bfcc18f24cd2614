package dev.mae4j;

/** Images of one size, addressable by index, delivered as normalised floats [C, H, W]. */
public interface ImageDataset {
    int size();

    int channels();

    int height();

    int width();

    /** Writes image {@code index} as C·H·W normalised floats at {@code dst[offset...]}. */
    void copyNormalised(int index, float[] dst, int offset);

    default int imageFloats() {
        return channels() * height() * width();
    }

    /** Images {@code indices} as one normalised batch [N, C, H, W]; datasets with native storage override it. */
    default Tensor batch(int[] indices) {
        float[] buf = new float[indices.length * imageFloats()];
        for (int i = 0; i < indices.length; i++) copyNormalised(indices[i], buf, i * imageFloats());
        return Tensor.fromFloats(buf, indices.length, channels(), height(), width());
    }
}
