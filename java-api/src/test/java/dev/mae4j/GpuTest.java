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

    @Test
    void ncclWithOneRankTrainsAsAlone() throws Exception {
        assumeTrue(Device.cudaDeviceCount() > 0, "no CUDA device: libmae's LibTorch sees none");
        assumeTrue(ProcessGroup.isAvailable(ProcessGroup.Backend.NCCL), "this libmae was built without NCCL");
        MaeConfig c = MaeConfig.tiny();
        double[] alone = new double[3], grouped = new double[3];
        run(Device.cuda(0), c, alone);
        var options = ProcessGroup.Options.of("127.0.0.1", DistributedTest.freePort(), 0, 1).on(Device.cuda(0));
        try (ProcessGroup group = ProcessGroup.join(options);
             Model model = Model.create(c, Device.cuda(0), 0);
             Trainer trainer = Trainer.builder(model).learningRate(1e-3).processGroup(group).build();
             Tensor images = Tensor.fromFloats(TestData.toFloats(TestData.gaussian(4 * 128, 5)), 4, 2, 8, 8);
             Masker masker = Masker.random(0.75, 1)) {
            for (int i = 0; i < grouped.length; i++) grouped[i] = trainer.step(images, masker);
        }
        assertArrayEquals(alone, grouped, 1e-5);
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
