package dev.mae4j.cli;

import dev.mae4j.LabelledDataset;
import dev.mae4j.Preprocessing;
import dev.mae4j.data.IdxImages;
import dev.mae4j.data.ImageFolder;
import dev.mae4j.data.Shard;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * Labelled training and test images for fine-tuning and probes: Fashion-MNIST's IDX splits (the default),
 * two image folders (class = sub-folder) or two shards written by mae pack.
 */
final class LabelledData {
    @picocli.CommandLine.Mixin
    PreprocessingOptions preprocessing = new PreprocessingOptions();

    @Option(names = "--data", description = "Directory with the Fashion-MNIST IDX files (train and t10k splits).")
    Path data = IdxImages.DEBIAN_FASHION_MNIST;

    @Option(
            names = "--images",
            description = "A folder of labelled training images (class = sub-folder), with --test-images.")
    Path images;

    @Option(names = "--test-images", description = "A folder of labelled test images, the same classes as --images.")
    Path testImages;

    @Option(names = "--shard", description = "A labelled training shard written by mae pack, with --test-shard.")
    Path shard;

    @Option(names = "--test-shard", description = "A labelled test shard written by mae pack.")
    Path testShard;

    @Option(
            names = "--img-size",
            description =
                    "Side that --images are read at (the model's img_size): training crops from each file, test images resized and centre-cropped.")
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

    /** The training and test splits normalised with {@code p}, each checked to be fully labelled, with the same classes. */
    Splits open(int channels, int modelImgSize, Preprocessing p) throws IOException {
        if (p.channels() != channels)
            throw new IllegalArgumentException(
                    "the normalisation has " + p.channels() + " channels, the model " + channels);
        LabelledDataset train, test;
        if (shard != null) {
            train = Shard.open(shard, p.mean(), p.std());
            test = Shard.open(testShard, p.mean(), p.std());
        } else if (images != null) {
            int size = imgSize != null ? imgSize : modelImgSize;
            train = folder(images, size, channels, p);
            test = folder(testImages, size, channels, p);
        } else {
            train = IdxImages.readSplit(data, "train").asDataset(p.mean()[0], p.std()[0]);
            test = IdxImages.readSplit(data, "t10k").asDataset(p.mean()[0], p.std()[0]);
        }
        if (!train.fullyLabelled() || !test.fullyLabelled())
            throw new IOException(
                    "every training and test image needs a label (a class sub-folder, or a shard packed from one)");
        if (train.classCount() != test.classCount())
            throw new IOException("the training images have " + train.classCount() + " classes, the test images "
                    + test.classCount());
        return new Splits(train, test);
    }

    /** For weights read from {@code source}: --image-mean/--image-std when given, else what they record (with a notice for a default). */
    Preprocessing forWeights(Preprocessing recorded, Path source, java.io.PrintWriter err) {
        return preprocessing.resolve(recorded, source, err);
    }

    /** For a fresh model: --image-mean/--image-std when given, else Fashion-MNIST's on its IDX files, else the default. */
    Preprocessing forFreshModel(int channels) {
        Preprocessing given = preprocessing.given();
        if (given != null) return given;
        return shard == null && images == null ? Preprocessing.fashionMnist() : Preprocessing.defaultFor(channels);
    }

    record Splits(LabelledDataset train, LabelledDataset test) {}

    private static ImageFolder folder(Path dir, int size, int channels, Preprocessing p) throws IOException {
        ImageFolder f = new ImageFolder(dir, size, channels, p.mean(), p.std());
        System.out.printf(
                "%s: %d images in %d classes, %d unreadable files skipped%n",
                dir, f.size(), f.classCount(), f.skipped());
        return f;
    }
}
