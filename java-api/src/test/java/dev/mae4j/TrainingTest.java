package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Training end to end: a tiny model overfits one batch; runs are reproducible from their seeds. */
class TrainingTest {
    @Test
    void tinyModelOverfitsOneBatch() {
        MaeConfig c = MaeConfig.tiny();
        try (Model model = Model.create(c, Device.cpu(), 0);
                Trainer trainer =
                        Trainer.builder(model).learningRate(3e-3).weightDecay(0).build();
                Tensor images = Tensor.fromFloats(TestData.toFloats(TestData.gaussian(4 * 128, 41)), 4, 2, 8, 8);
                Tensor noise = Tensor.fromDoubles(TestData.uniform(4 * 16, 42), 4, 16);
                Masker masker = Masker.fromNoise(noise, 0.75)) {
            double first = trainer.step(images, masker), last = first;
            for (int i = 1; i < 400; i++) last = trainer.step(images, masker);
            assertTrue(last < 0.1 * first, "loss " + first + " -> " + last + " did not fall by 90%");
        }
    }

    @Test
    void sameSeedsGiveTheSameLossSequence() {
        double[] a = losses(3, 5), b = losses(3, 5), otherMasks = losses(3, 6), otherWeights = losses(4, 5);
        assertArrayEquals(a, b, 0.0);
        assertFalse(java.util.Arrays.equals(a, otherMasks));
        assertFalse(java.util.Arrays.equals(a, otherWeights));
    }

    private static double[] losses(long modelSeed, long maskSeed) {
        MaeConfig c = MaeConfig.tiny();
        double[] out = new double[6];
        try (Model model = Model.create(c, Device.cpu(), modelSeed);
                Trainer trainer = Trainer.builder(model).learningRate(1e-3).build();
                Tensor images = Tensor.fromFloats(TestData.toFloats(TestData.gaussian(4 * 128, 43)), 4, 2, 8, 8);
                Masker masker = Masker.random(0.75, maskSeed)) {
            for (int i = 0; i < out.length; i++) out[i] = trainer.step(images, masker);
        }
        return out;
    }
}
