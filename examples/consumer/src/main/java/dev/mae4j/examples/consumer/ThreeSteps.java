package dev.mae4j.examples.consumer;

import dev.mae4j.Device;
import dev.mae4j.Library;
import dev.mae4j.MaeConfig;
import dev.mae4j.Masker;
import dev.mae4j.Model;
import dev.mae4j.Tensor;
import dev.mae4j.Trainer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * Trains a small MAE for three steps on random images and prints each loss, then where LibTorch was mapped from:
 * everything comes out of the mae4j-native jar, extracted into mae4j's cache folder.
 */
public final class ThreeSteps {
    private ThreeSteps() {}

    public static void main(String[] args) throws Exception {
        MaeConfig config = MaeConfig.fashionMnistSmall();
        int n = 8, side = config.imgSize();
        float[] pixels = new float[n * config.inChans() * side * side];
        Random rng = new Random(42);
        for (int i = 0; i < pixels.length; i++) pixels[i] = (float) rng.nextGaussian();
        try (Model model = Model.create(config, Device.cpu(), 42);
             Trainer trainer = Trainer.builder(model).learningRate(1e-3).build();
             Masker masker = Masker.random(0.75, 42);
             Tensor images = Tensor.fromFloats(pixels, n, config.inChans(), side, side)) {
            for (int step = 1; step <= 3; step++) {
                System.out.printf("step %d loss %.6f%n", step, trainer.step(images, masker));
            }
        }
        System.out.println("LibTorch " + Library.torchVersion());
        Files.readAllLines(Path.of("/proc/self/maps")).stream()
                .map(l -> l.indexOf('/') < 0 ? "" : l.substring(l.indexOf('/')))
                .filter(f -> f.matches(".*/lib(torch_cpu|c10|gomp|mae)\\.so.*"))
                .distinct()
                .forEach(f -> System.out.println("mapped " + f));
    }
}
