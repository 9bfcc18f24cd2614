package dev.mae4j.cli;

import dev.mae4j.Preprocessing;

/**
 * What `mae finetune` computes once from its options, the encoder and the data, before any update: passed to the
 * steps that start, log, resume, evaluate and report the run, so that none of them derives it again.
 *
 * @param scratch the encoder starts fresh (--from-scratch, or no --weights)
 * @param role this process's rank among the ranks that train
 * @param stepThreads the shards each CPU step splits its batch into
 * @param perEpoch updates per epoch (each rank's share of the images over its batch)
 * @param steps updates in all; warmup, of them the linear warm-up
 * @param peakLr base lr scaled by the global batch / 256
 * @param trainableBlocks the last blocks trained (--trainable-blocks; the encoder's depth by default)
 * @param norm the pixel normalisation the classifier trains and serves with
 * @param splits the labelled training and test images
 */
record FinetunePlan(
        boolean scratch,
        DistributedOptions.Role role,
        int stepThreads,
        long perEpoch,
        long steps,
        long warmup,
        double peakLr,
        int trainableBlocks,
        Preprocessing norm,
        LabelledData.Splits splits) {

    int rank() {
        return role.rank();
    }

    int ranks() {
        return role.ranks();
    }

    /** The (fractional) epoch an update ends. */
    double epochOf(long update) {
        return (double) update / perEpoch;
    }
}
