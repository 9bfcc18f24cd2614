package dev.mae4j.cli;

import dev.mae4j.Device;
import dev.mae4j.LabelledDataset;
import dev.mae4j.Model;
import dev.mae4j.eval.Features;
import dev.mae4j.eval.Knn;
import dev.mae4j.eval.LinearProbe;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Linear-probe and kNN top-1 of a pretrained encoder's frozen features ([CLS] and mean-pooled), next to the
 * same probes on an untrained encoder of the same configuration: evidence that pretraining learned something.
 */
final class ProbeEvaluation {
    private ProbeEvaluation() {}

    /**
     * Probes on {@code options.trainImages} and {@code options.testImages} of the splits: the first ones when
     * the images come in no particular order (Fashion-MNIST), a seeded random choice when they are sorted by
     * class (folders, shards packed from them).
     */
    static Map<String, Object> run(
            Model trained,
            LabelledDataset trainData,
            LabelledDataset testData,
            boolean sortedByClass,
            ProbeOptions options,
            long seed) {
        int epochs = options.epochs, k = options.k, classes = trainData.classCount();
        int[] trainIdx = choose(trainData.size(), options.trainImages, sortedByClass, seed),
                testIdx = choose(testData.size(), options.testImages, sortedByClass, seed + 1);
        int[] trainY = labels(trainData, trainIdx), testY = labels(testData, testIdx);
        Map<String, Object> r = new LinkedHashMap<>();
        System.out.printf(
                "evaluating: frozen features of %d training and %d test images%n", trainIdx.length, testIdx.length);
        try (Model random = Model.create(trained.config(), Device.cpu(), seed + 1)) {
            for (Model m : new Model[] {trained, random}) {
                String suffix = m == trained ? "" : "_random_init";
                var xTrain = Features.extract(m, trainData, trainIdx, 256, Features.Pooling.CLS, Features.Pooling.MEAN);
                var xTest = Features.extract(m, testData, testIdx, 256, Features.Pooling.CLS, Features.Pooling.MEAN);
                for (var pooling : Features.Pooling.values()) {
                    String tag = pooling == Features.Pooling.CLS ? "" : "_mean_pool";
                    float[][] a = xTrain.get(pooling), b = xTest.get(pooling);
                    r.put(
                            "linear_probe_top1" + tag + suffix,
                            LinearProbe.train(a, trainY, classes, epochs, 0.1, seed)
                                    .accuracy(b, testY));
                    r.put("knn_top1" + tag + suffix, Knn.accuracy(a, trainY, b, testY, k, classes));
                }
            }
        }
        r.put("probe_train_images", trainIdx.length);
        r.put("probe_test_images", testIdx.length);
        r.put(
                "probe_features",
                "frozen [CLS] token (keys without suffix) or mean of the patch tokens (_mean_pool), "
                        + "standardised; softmax regression, " + epochs + " epochs; kNN k=" + k
                        + " on cosine similarity");
        return r;
    }

    private static int[] choose(int size, int wanted, boolean shuffle, long seed) {
        int[] all = new int[size];
        for (int i = 0; i < size; i++) all[i] = i;
        if (shuffle) {
            java.util.Random r = new java.util.Random(seed);
            for (int i = size - 1; i > 0; i--) { // Fisher–Yates
                int j = r.nextInt(i + 1), t = all[i];
                all[i] = all[j];
                all[j] = t;
            }
        }
        int[] idx = java.util.Arrays.copyOf(all, Math.min(wanted, size));
        java.util.Arrays.sort(idx);
        return idx;
    }

    private static int[] labels(LabelledDataset d, int[] idx) {
        int[] y = new int[idx.length];
        for (int i = 0; i < idx.length; i++) {
            y[i] = d.label(idx[i]);
            if (y[i] < 0)
                throw new IllegalArgumentException("probes need labelled images; image " + idx[i] + " has none");
        }
        return y;
    }
}
