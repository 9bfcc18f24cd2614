package dev.mae4j.cli;

import dev.mae4j.Augment;
import dev.mae4j.FineTuner;
import dev.mae4j.Tensor;
import dev.mae4j.data.BatchLoader;
import dev.mae4j.data.Mixup;
import dev.mae4j.data.RandomErasing;
import dev.mae4j.data.RandomResizedCrop;

import java.util.Random;

/**
 * The reference fine-tuning's augmentation of each training batch, seeded by the batch's index (and the rank's
 * salt): crops, flips and random erasing on the loader's thread; Mixup/CutMix on the training thread, where the
 * lam that mixes the images also mixes the targets.
 */
record FinetuneAugmentation(boolean augment, RandomResizedCrop crops, RandomErasing erasing, Mixup mixup, int size,
                            long seed, long salt) {
    /** Crops and flips, then erasing (drawn after the crops, so probability 0 leaves the crops as they were). */
    BatchLoader.Transform transform(int batch) {
        if (!augment) return (t, i) -> t;
        return (t, i) -> {
            Random random = new Random(seed * 7_919L + i + salt);
            Tensor cropped = Augment.resizedCrops(t, crops.sample(batch, size, size, random), size);
            if (erasing.probability() == 0) return cropped;
            try (cropped) {
                return Augment.erase(cropped, erasing.sample(batch, size, size, random), random.nextLong());
            }
        };
    }

    /** One update from batch {@code index}: mixed images and soft targets when Mixup/CutMix is on, else the labels. */
    double step(FineTuner tuner, long index, Tensor images, long[] labels, int classes, double labelSmoothing) {
        if (!mixup.enabled()) {
            try (Tensor y = Tensor.fromLongs(labels, labels.length)) {
                return tuner.step(images, y);
            }
        }
        Mixup.Mix mix = mixup.draw(size, size, new Random(seed * 104_729L + index + salt));
        try (Tensor mixed = Augment.mix(images, mix);
             Tensor targets = Tensor.fromFloats(Mixup.targets(labels, classes, mix.lam(), labelSmoothing), labels.length, classes)) {
            return tuner.stepSoftTargets(mixed, targets);
        }
    }
}
