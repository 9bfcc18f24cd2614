package dev.mae4j;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** CUDA agreement with the CPU; skipped with a reason where no CUDA device exists. */
class GpuTest {
    @Test
    void cudaForwardAndStepAgreeWithTheCpu() {
        assumeTrue(Device.cudaDeviceCount() > 0, "no CUDA device: libmae's LibTorch sees none");
        MaeConfig c = MaeConfig.tiny();
        double[] cpuLoss = new double[3], gpuLoss = new double[3];
        run(Device.cpu(), c, cpuLoss);
        run(Device.cuda(0), c, gpuLoss);
        assertArrayEquals(cpuLoss, gpuLoss, 1e-4);
    }

    private static void run(Device device, MaeConfig c, double[] losses) {
        try (Model model = Model.create(c, device, 0);
             Trainer trainer = Trainer.builder(model).learningRate(1e-3).build();
             Tensor images = Tensor.fromFloats(TestData.toFloats(TestData.gaussian(4 * 128, 5)), 4, 2, 8, 8);
             Masker masker = Masker.random(0.75, 1)) {
            for (int i = 0; i < losses.length; i++) losses[i] = trainer.step(images, masker);
        }
    }
}
