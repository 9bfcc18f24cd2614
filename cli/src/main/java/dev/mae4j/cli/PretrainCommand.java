package dev.mae4j.cli;

import dev.mae4j.Device;
import dev.mae4j.MaeConfig;
import dev.mae4j.Masker;
import dev.mae4j.Model;
import dev.mae4j.Tensor;
import dev.mae4j.Trainer;
import dev.mae4j.data.IdxImages;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.Callable;

/**
 * `mae pretrain`: MAE pretraining on Fashion-MNIST (Debian's dataset-fashion-mnist) at a constant learning
 * rate, printing the loss and writing a checkpoint. Issue 3 brings the paper's full recipe.
 */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
        description = "Pretrain an MAE on Fashion-MNIST and write a safetensors checkpoint.")
final class PretrainCommand implements Callable<Integer> {
    // Fashion-MNIST's training-set pixel mean and standard deviation on [0, 1].
    private static final float MEAN = 0.2860f, STD = 0.3530f;

    @Option(names = "--data", description = "Directory with the IDX files (default: ${DEFAULT-VALUE}).")
    Path data = IdxImages.DEBIAN_FASHION_MNIST;

    @Option(names = "--out", description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("runs/pretrain");

    @Option(names = "--steps", description = "Training steps (default: ${DEFAULT-VALUE}).")
    int steps = 300;

    @Option(names = "--batch", description = "Images per step (default: ${DEFAULT-VALUE}).")
    int batch = 64;

    @Option(names = "--lr", description = "Constant AdamW learning rate (default: ${DEFAULT-VALUE}).")
    double lr = 1e-3;

    @Option(names = "--mask-ratio", description = "Fraction of patches removed (default: ${DEFAULT-VALUE}).")
    double maskRatio = 0.75;

    @Option(names = "--seed", description = "Seed of weights, masks and batch order (default: ${DEFAULT-VALUE}).")
    long seed = 0;

    @Option(names = "--device", description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
    String device = "cpu";

    @Option(names = "--log-every", description = "Print the loss every N steps (default: ${DEFAULT-VALUE}).")
    int logEvery = 20;

    @Override
    public Integer call() throws Exception {
        if (steps <= 0 || batch <= 0 || logEvery <= 0)
            throw new IllegalArgumentException("--steps, --batch and --log-every must be positive");
        IdxImages train = IdxImages.readSplit(data, "train");
        MaeConfig config = MaeConfig.fashionMnist();
        if (train.rows() != config.imgSize() || train.cols() != config.imgSize())
            throw new IllegalArgumentException("images are " + train.rows() + "×" + train.cols() + ", the config needs "
                    + config.imgSize() + "×" + config.imgSize());
        System.out.printf("mae pretrain: %d Fashion-MNIST images from %s, %d steps of %d, lr %.2g, mask ratio %.2f%n",
                train.count(), data, steps, batch, lr, maskRatio);

        Files.createDirectories(out);
        Path checkpoint = out.resolve("last.safetensors");
        int pixels = config.imgSize() * config.imgSize();
        float[] buf = new float[batch * pixels];
        Random order = new Random(seed);
        long start = System.nanoTime();
        try (Model model = Model.create(config, Device.parse(device), seed);
             Trainer trainer = Trainer.builder(model).learningRate(lr).build();
             Masker masker = Masker.random(maskRatio, seed)) {
            double first = Double.NaN, last = Double.NaN;
            for (int step = 1; step <= steps; step++) {
                for (int b = 0; b < batch; b++) train.normalised(order.nextInt(train.count()), MEAN, STD, buf, b * pixels);
                try (Tensor images = Tensor.fromFloats(buf, batch, 1, config.imgSize(), config.imgSize())) {
                    last = trainer.step(images, masker);
                }
                if (step == 1) first = last;
                if (step % logEvery == 0 || step == 1 || step == steps) {
                    double secs = (System.nanoTime() - start) / 1e9;
                    System.out.printf("step %5d/%d  loss %.4f  %.0f images/s%n", step, steps, last, step * batch / secs);
                }
            }
            model.save(checkpoint);
            System.out.printf("loss %.4f -> %.4f; checkpoint written to %s%n", first, last, checkpoint);
        }
        return 0;
    }
}
