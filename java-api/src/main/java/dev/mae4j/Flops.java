package dev.mae4j;

/**
 * Floating-point operations of the model, derived from its configuration, as PyTorch's FlopCounterMode counts them
 * (2 per multiply-add of every matrix product and convolution; norms, softmax and element-wise work not counted):
 * what MFU figures divide by. FlopsTest checks both against FlopCounterMode on a plain-PyTorch MAE.
 */
public final class Flops {
    private Flops() {}

    /** One image's forward pass: the encoder over the kept patches (and [CLS]), the decoder over all of them. */
    public static double forwardPerImage(MaeConfig c, double maskRatio) {
        Parts p = parts(c, maskRatio);
        return p.patchEmbed + p.matmuls;
    }

    /**
     * One image's training step: forward, then backward at twice the forward's products (gradients of inputs and
     * weights) except the patch embedding, whose input (the images) needs none; AdamW's element-wise work not counted.
     */
    public static double trainingStepPerImage(MaeConfig c, double maskRatio) {
        Parts p = parts(c, maskRatio);
        return 2 * p.patchEmbed + 3 * p.matmuls;
    }

    private record Parts(double patchEmbed, double matmuls) {}

    private static Parts parts(MaeConfig c, double maskRatio) {
        if (c == null) throw new IllegalArgumentException("config must not be null");
        if (!(maskRatio >= 0 && maskRatio < 1))
            throw new IllegalArgumentException("maskRatio must be in [0, 1), got " + maskRatio);
        long patches = c.numPatches(), patchValues = (long) c.patchSize() * c.patchSize() * c.inChans();
        long kept = (long) (patches * (1 - maskRatio)); // random_masking's len_keep = int(L * (1 - mask_ratio))
        double patchEmbed = 2.0 * patches * patchValues * c.embedDim();
        double encoder = c.depth() * block(1 + kept, c.embedDim(), (int) (c.embedDim() * c.mlpRatio()));
        double decoderEmbed = 2.0 * (1 + kept) * c.embedDim() * c.decoderEmbedDim();
        double decoder =
                c.decoderDepth() * block(1 + patches, c.decoderEmbedDim(), (int) (c.decoderEmbedDim() * c.mlpRatio()));
        double pred = 2.0 * (1 + patches) * c.decoderEmbedDim() * patchValues; // [CLS]'s row too, dropped after
        return new Parts(patchEmbed, encoder + decoderEmbed + decoder + pred);
    }

    // One transformer block over t tokens of width d: qkv, q·kᵀ and attention·v over all heads, proj, the MLP.
    private static double block(long t, int d, int hidden) {
        return 2.0 * t * d * 3 * d + 2 * (2.0 * t * t * d) + 2.0 * t * d * d + 2 * (2.0 * t * d * hidden);
    }
}
