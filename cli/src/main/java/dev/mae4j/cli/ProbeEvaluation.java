package dev.mae4j.cli;

import dev.mae4j.Device;
import dev.mae4j.Model;
import dev.mae4j.data.IdxImages;
import dev.mae4j.data.ImageDataset;
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

    static Map<String, Object> run(Model trained, IdxImages train, IdxImages test, float mean, float std,
                                   ProbeOptions options, long seed) {
        int epochs = options.epochs, k = options.k;
        ImageDataset trainData = train.asDataset(mean, std), testData = test.asDataset(mean, std);
        int[] trainIdx = firstN(Math.min(options.trainImages, train.count())),
                testIdx = firstN(Math.min(options.testImages, test.count()));
        int[] trainY = labels(train, trainIdx), testY = labels(test, testIdx);
        Map<String, Object> r = new LinkedHashMap<>();
        System.out.printf("evaluating: frozen features of %d training and %d test images%n", trainIdx.length, testIdx.length);
        try (Model random = Model.create(trained.config(), Device.cpu(), seed + 1)) {
            for (Model m : new Model[] {trained, random}) {
                String suffix = m == trained ? "" : "_random_init";
                var xTrain = Features.extract(m, trainData, trainIdx, 256, Features.Pooling.CLS, Features.Pooling.MEAN);
                var xTest = Features.extract(m, testData, testIdx, 256, Features.Pooling.CLS, Features.Pooling.MEAN);
                for (var pooling : Features.Pooling.values()) {
                    String tag = pooling == Features.Pooling.CLS ? "" : "_mean_pool";
                    float[][] a = xTrain.get(pooling), b = xTest.get(pooling);
                    r.put("linear_probe_top1" + tag + suffix, LinearProbe.train(a, trainY, 10, epochs, 0.1, seed).accuracy(b, testY));
                    r.put("knn_top1" + tag + suffix, Knn.accuracy(a, trainY, b, testY, k, 10));
                }
            }
        }
        r.put("probe_train_images", trainIdx.length);
        r.put("probe_test_images", testIdx.length);
        r.put("probe_features", "frozen [CLS] token (keys without suffix) or mean of the patch tokens (_mean_pool), "
                + "standardised; softmax regression, " + epochs + " epochs; kNN k=" + k + " on cosine similarity");
        return r;
    }

    private static int[] firstN(int n) {
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        return idx;
    }

    private static int[] labels(IdxImages d, int[] idx) {
        if (d.labels() == null) throw new IllegalArgumentException("probes need labels");
        int[] y = new int[idx.length];
        for (int i = 0; i < idx.length; i++) y[i] = d.labels()[idx[i]] & 0xff;
        return y;
    }
}
