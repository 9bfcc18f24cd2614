package dev.mae4j;

/**
 * What one forward pass computed. Closing it frees its tensors.
 *
 * @param loss       mean squared error over the removed patches
 * @param pred       [N, L, p·p·C] predicted pixels (normalised per patch with norm_pix_loss)
 * @param mask       [N, L] 1 for removed patches, 0 for kept ones
 * @param idsRestore [N, L] int64, the inverse of each image's shuffle
 * @param latent     [N, 1 + len_keep, D] the encoder's output, [CLS] first
 */
public record ForwardResult(double loss, Tensor pred, Tensor mask, Tensor idsRestore, Tensor latent)
        implements AutoCloseable {
    @Override
    public void close() {
        pred.close();
        mask.close();
        idsRestore.close();
        latent.close();
    }
}
