package dev.mae4j;

/**
 * One entry of a model's state, named as in the reference state_dict.
 *
 * @param trainable false for the fixed sine-cosine position tables
 */
public record ParameterInfo(String name, DType dtype, long[] shape, boolean trainable) {
    public ParameterInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long elementCount() {
        return Tensor.elementCount(shape);
    }
}
