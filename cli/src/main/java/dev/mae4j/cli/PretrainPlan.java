package dev.mae4j.cli;

import dev.mae4j.ImageDataset;
import dev.mae4j.MaeConfig;
import dev.mae4j.Preprocessing;
import dev.mae4j.data.IdxImages;
import java.nio.file.Path;

/**
 * What `mae pretrain` computes once from its options and its data, before any update: passed to the steps that
 * start, resume, log and evaluate the run, so that none of them derives it again and no option is rewritten.
 *
 * @param data the training images, where they came from, Fashion-MNIST's splits when they are the data, and the
 *     normalisation the weights record
 * @param role this process's rank among the ranks that train
 * @param stepThreads the shards each CPU step splits its batch into
 * @param steps updates in all; warmup, of them the linear warm-up
 * @param effectiveBatch images per update: batch × accumulation × ranks
 * @param peakLr base lr scaled by the effective batch / 256
 * @param evaluate whether the probes and figures run at the end (Fashion-MNIST's labelled test split only)
 */
record PretrainPlan(
        Data data,
        DistributedOptions.Role role,
        MaeConfig config,
        int stepThreads,
        long steps,
        long warmup,
        long effectiveBatch,
        double peakLr,
        boolean evaluate) {

    /** The training images, where they came from, Fashion-MNIST's splits when they are the data, the normalisation. */
    record Data(ImageDataset dataset, Path source, IdxImages train, IdxImages test, Preprocessing norm) {}
}
