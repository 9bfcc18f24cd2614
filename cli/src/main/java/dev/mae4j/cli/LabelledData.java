package dev.mae4j.cli;

import dev.mae4j.data.IdxImages;
import dev.mae4j.data.ImageFolder;
import dev.mae4j.data.LabelledDataset;
import dev.mae4j.data.Shard;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Labelled training and test images for fine-tuning and probes: Fashion-MNIST's IDX splits (the default),
 * two image folders (class = sub-folder) or two shards written by mae pack.
 */
final class LabelledData {
    // Fashion-MNIST's training-set pixel mean and standard deviation on [0, 1].
    static final float MEAN = 0.2860f, STD = 0.3530f;

    @Option(names = "--data", description = "Directory with the Fashion-MNIST IDX files (train and t10k splits).")
    Path data = IdxImages.DEBIAN_FASHION_MNIST;

    @Option(names = "--images", description = "A folder of labelled training images (class = sub-folder), with --test-images.")
    Path images;

    @Option(names = "--test-images", description = "A folder of labelled test images, the same classes as --images.")
    Path testImages;

    @Option(names = "--shard", description = "A labelled training shard written by mae pack, with --test-shard.")
    Path shard;

    @Option(names = "--test-shard", description = "A labelled test shard written by mae pack.")
    Path testShard;

    @Option(names = "--img-size", description = "Side that --images are read at (the model's img_size): training crops from each file, test images resized and centre-cropped.")
    Integer imgSize;

    /** Null when the options fit together, else what to fix. */
    String problem() {
        if (images != null && shard != null) return "give --images or --shard, not both";
        if ((images == null) != (testImages == null)) return "--images and --test-images go together";
        if ((shard == null) != (testShard == null)) return "--shard and --test-shard go together";
        return null;
    }

    /** Whether the images come sorted by class (folders and shards), not in Fashion-MNIST's mixed order. */
    boolean sortedByClass() {
        return images != null || shard != null;
    }

    /** Where the training images come from, for messages and reports. */
    Path source() {
        return shard != null ? shard : images != null ? images : data;
    }

    /** The training and test splits, each checked to be fully labelled, with the same classes. */
    Splits open(int channels, int modelImgSize) throws IOException {
        LabelledDataset train, test;
        if (shard != null) {
            train = Shard.open(shard, mean(channels), std(channels));
            test = Shard.open(testShard, mean(channels), std(channels));
        } else if (images != null) {
            int size = imgSize != null ? imgSize : modelImgSize;
            train = folder(images, size, channels);
            test = folder(testImages, size, channels);
        } else {
            train = IdxImages.readSplit(data, "train").asDataset(MEAN, STD);
            test = IdxImages.readSplit(data, "t10k").asDataset(MEAN, STD);
        }
        if (!train.fullyLabelled() || !test.fullyLabelled())
            throw new IOException("every training and test image needs a label (a class sub-folder, or a shard packed from one)");
        if (train.classCount() != test.classCount())
            throw new IOException("the training images have " + train.classCount() + " classes, the test images " + test.classCount());
        return new Splits(train, test);
    }

    record Splits(LabelledDataset train, LabelledDataset test) {}

    /** The per-channel mean and standard deviation {@link #open} normalises with: [0] mean, [1] std. */
    double[][] normalisation(int channels) {
        boolean idx = shard == null && images == null;
        float[] m = idx ? new float[] {MEAN} : mean(channels), s = idx ? new float[] {STD} : std(channels);
        double[][] ms = new double[2][m.length];
        for (int c = 0; c < m.length; c++) {
            ms[0][c] = m[c];
            ms[1][c] = s[c];
        }
        return ms;
    }

    private static ImageFolder folder(Path dir, int size, int channels) throws IOException {
        ImageFolder f = new ImageFolder(dir, size, channels, mean(channels), std(channels));
        System.out.printf("%s: %d images in %d classes, %d unreadable files skipped%n", dir, f.size(), f.classCount(), f.skipped());
        return f;
    }

    // RGB: ImageNet's statistics, as the reference; grey: 0.5 and 0.5.
    static float[] mean(int channels) {
        return channels == 3 ? new float[] {0.485f, 0.456f, 0.406f} : new float[] {0.5f};
    }

    static float[] std(int channels) {
        return channels == 3 ? new float[] {0.229f, 0.224f, 0.225f} : new float[] {0.5f};
    }
}
