package dev.mae4j.cli;

import dev.mae4j.Augment;
import dev.mae4j.BatchLoader;
import dev.mae4j.FineTuner;
import dev.mae4j.ImageDataset;
import dev.mae4j.Tensor;
import dev.mae4j.data.Mixup;
import dev.mae4j.data.RandAugment;
import dev.mae4j.data.RandomErasing;
import dev.mae4j.data.RandomResizedCrop;
import java.util.Random;

/**
 * The reference fine-tuning's augmentation of each training batch, seeded by the batch's index (and the rank's
 * salt): crops, flips, RandAugment and random erasing on the loader's thread; Mixup/CutMix on the training thread, where the
 * lam that mixes the images also mixes the targets.
 */
record FinetuneAugmentation(
        boolean augment,
        RandomResizedCrop crops,
        RandAugment randAugment,
        double[][] normalisation,
        RandomErasing erasing,
        Mixup mixup,
        int size,
        long seed,
        long salt) {
    /**
     * Crops and flips, RandAugment (when not null; on the pixels the [0] mean and [1] std of {@code normalisation}
     * give back), then erasing, in timm's order; each drawn after the one before, so turning a later one off leaves
     * the earlier ones as they were.
     */
    BatchLoader.Transform transform(int batch) {
        if (!augment) return (t, i) -> t;
        return new BatchLoader.Transform() {
            @Override
            public Tensor apply(Tensor stored, long i) {
                Random random = random(i);
                return afterCrops(crops.apply(stored, size, random), batch, random);
            }

            @Override // image folders are cropped from the files at full resolution
            public Tensor load(ImageDataset data, int[] indices, long i) {
                Random random = random(i);
                return afterCrops(crops.apply(data, indices, size, random), batch, random);
            }
        };
    }

    private Random random(long batchIndex) {
        return new Random(seed * 7_919L + batchIndex + salt);
    }

    private Tensor afterCrops(Tensor cropped, int batch, Random random) {
        Tensor augmented = cropped;
        if (randAugment != null)
            try (Tensor before = augmented) {
                augmented =
                        RandAugment.apply(before, randAugment.draw(batch, random), normalisation[0], normalisation[1]);
            }
        if (erasing.probability() == 0) return augmented;
        try (Tensor unerased = augmented) {
            return Augment.erase(unerased, erasing.sample(batch, size, size, random), random.nextLong());
        }
    }

    /** One update from batch {@code index}: mixed images and soft targets when Mixup/CutMix is on, else the labels. */
    double step(FineTuner tuner, long index, Tensor images, long[] labels, int classes, double labelSmoothing) {
        if (!mixup.enabled()) {
            try (Tensor y = Tensor.fromLongs(labels, labels.length)) {
                return tuner.step(images, y);
            }
        }
        Mixup.Mix mix = mixup.draw(size, size, new Random(seed * 104_729L + index + salt));
        try (Tensor mixed = mix.apply(images);
                Tensor targets = Tensor.fromFloats(
                        Mixup.targets(labels, classes, mix.lam(), labelSmoothing), labels.length, classes)) {
            return tuner.stepSoftTargets(mixed, targets);
        }
    }
}
