package dev.mae4j.data;

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
}
