package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * CUDA agreement with the CPU; skipped with a reason where no CUDA device exists, failed where -Dmae.device=cuda
 * says one should (dist/run.sh on the GPU machine).
 */
@Tag("gpu")
class GpuTest {
    @Test
    void cudaForwardAndStepAgreeWithTheCpu() {
        TestData.assumeCuda();
        MaeConfig c = MaeConfig.tiny();
        double[] cpuLoss = new double[3], gpuLoss = new double[3];
        run(Device.cpu(), c, cpuLoss);
        run(Device.cuda(0), c, gpuLoss);
        assertArrayEquals(cpuLoss, gpuLoss, 1e-4);
    }

    /**
     * A non-finite batch on CUDA: the device finds it and skips the fused update itself (the step waits for the
     * device once, at its end); the losses before and after match the CPU's, which skips on the same batch.
     */
    @Test
    void cudaSkipsANonFiniteStepOnTheDevice() {
        TestData.assumeCuda();
        double[] cpu = stepsWithAPoisonedBatch(Device.cpu()), gpu = stepsWithAPoisonedBatch(Device.cuda(0));
        org.junit.jupiter.api.Assertions.assertTrue(Double.isNaN(gpu[1]), "the poisoned step reports NaN");
        org.junit.jupiter.api.Assertions.assertEquals(1, gpu[3], "one update skipped");
        assertArrayEquals(new double[] {cpu[0], cpu[2], cpu[3]}, new double[] {gpu[0], gpu[2], gpu[3]}, 1e-4);
    }

    /** Losses of good, poisoned, good steps, then the skipped count. */
    private static double[] stepsWithAPoisonedBatch(Device device) {
        double[] bad = TestData.gaussian(4 * 128, 6);
        bad[7] = Double.NaN;
        try (Model model = Model.create(MaeConfig.tiny(), device, 0);
                Trainer trainer =
                        Trainer.builder(model).learningRate(1e-3).stepThreads(1).build();
                Tensor good = Tensor.fromFloats(TestData.toFloats(TestData.gaussian(4 * 128, 5)), 4, 2, 8, 8);
                Tensor poisoned = Tensor.fromFloats(TestData.toFloats(bad), 4, 2, 8, 8);
                Tensor noise = Tensor.fromDoubles(TestData.uniform(4 * 16, 9), 4, 16);
                Masker masker = Masker.fromNoise(noise, 0.75)) {
            return new double[] {
                trainer.step(good, masker),
                trainer.step(poisoned, masker),
                trainer.step(good, masker),
                trainer.skippedUpdates()
            };
        }
    }

    @Test
    void ncclWithOneRankTrainsAsAlone() throws Exception {
        TestData.assumeCuda();
        boolean nccl = ProcessGroup.isAvailable(ProcessGroup.Backend.NCCL);
        if (System.getProperty("mae.device", "cpu").startsWith("cuda"))
            org.junit.jupiter.api.Assertions.assertTrue(nccl, "a GPU run's libmae must have NCCL process groups");
        assumeTrue(nccl, "this libmae was built without NCCL");
        MaeConfig c = MaeConfig.tiny();
        double[] alone = new double[3], grouped = new double[3];
        run(Device.cuda(0), c, alone);
        var options = ProcessGroup.Options.of("127.0.0.1", DistributedTest.freePort(), 0, 1)
                .on(Device.cuda(0));
        try (ProcessGroup group = ProcessGroup.join(options);
                Model model = Model.create(c, Device.cuda(0), 0);
                Trainer trainer = Trainer.builder(model)
                        .learningRate(1e-3)
                        .processGroup(group)
                        .build();
                Tensor images = Tensor.fromFloats(TestData.toFloats(TestData.gaussian(4 * 128, 5)), 4, 2, 8, 8);
                Masker masker = Masker.random(0.75, 1)) {
            for (int i = 0; i < grouped.length; i++) grouped[i] = trainer.step(images, masker);
        }
        assertArrayEquals(alone, grouped, 1e-5);
    }

    /**
     * bfloat16 on CUDA against float32 on the CPU, the same weights, images and mask: the loss to bfloat16's
     * rounding, the gradients in the same direction (cosine >= 0.99).
     */
    @Test
    void cudaBf16AgreesWithTheCpusFloat32() {
        TestData.assumeCuda();
        MaeConfig f32 = MaeConfig.builder()
                .imgSize(32)
                .patchSize(4)
                .inChans(3)
                .embedDim(64)
                .depth(2)
                .numHeads(4)
                .decoderEmbedDim(32)
                .decoderDepth(1)
                .decoderNumHeads(4)
                .normPixLoss(true)
                .build();
        double[] px = TestData.gaussian(4 * 3 * 32 * 32, 21), nz = TestData.uniform(4 * 64, 22);
        double[] cpu = new double[1], gpu = new double[1];
        double[] gCpu, gGpu;
        try (Model a = Model.create(f32, Device.cpu(), 3);
                Model b = Model.create(f32.toBuilder().precision(DType.BF16).build(), Device.cuda(0), 3)) {
            gCpu = gradients(a, px, nz, cpu);
            gGpu = gradients(b, px, nz, gpu);
        }
        org.junit.jupiter.api.Assertions.assertEquals(cpu[0], gpu[0], 1e-2 * cpu[0], "loss");
        double cosine = MixedPrecisionTest.cosine(gCpu, gGpu);
        org.junit.jupiter.api.Assertions.assertTrue(cosine >= 0.99, "gradient cosine " + cosine);
    }

    private static double[] gradients(Model m, double[] px, double[] nz, double[] loss) {
        try (Tensor x = Tensor.fromFloats(TestData.toFloats(px), 4, 3, 32, 32);
                Tensor noise = Tensor.fromDoubles(nz, 4, 64);
                Masker masker = Masker.fromNoise(noise, 0.75);
                ForwardResult r = m.forwardBackward(x, masker)) {
            loss[0] = r.loss();
            java.util.List<Double> all = new java.util.ArrayList<>();
            for (ParameterInfo p : m.parameters())
                if (p.trainable())
                    try (Tensor g = m.gradient(p.name())) {
                        for (double v : g.toDoubleArray()) all.add(v);
                    }
            return all.stream().mapToDouble(Double::doubleValue).toArray();
        }
    }

    // Three batches in turn: CUDA copies each through its own pinned buffer, two of them used in turn.
    private static void run(Device device, MaeConfig c, double[] losses) {
        try (Model model = Model.create(c, device, 0);
                Trainer trainer = Trainer.builder(model).learningRate(1e-3).build();
                Tensor a = Tensor.fromFloats(TestData.toFloats(TestData.gaussian(4 * 128, 5)), 4, 2, 8, 8);
                Tensor b = Tensor.fromFloats(TestData.toFloats(TestData.gaussian(4 * 128, 6)), 4, 2, 8, 8);
                Tensor d = Tensor.fromFloats(TestData.toFloats(TestData.gaussian(4 * 128, 7)), 4, 2, 8, 8);
                Masker masker = Masker.random(0.75, 1)) {
            Tensor[] batches = {a, b, d};
            for (int i = 0; i < losses.length; i++) losses[i] = trainer.step(batches[i % 3], masker);
        }
    }
}
