package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mae4j.data.IdxImages;
import dev.mae4j.io.SafeTensors;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bfloat16 mixed precision (MaeConfig precision BF16): float32 weights and AdamW, the forward pass under autocast.
 * Checked against PyTorch's own torch.autocast("cpu", torch.bfloat16) on a plain-PyTorch MAE with the same weights,
 * inputs and mask (src/test/python/bf16_reference.py), at bfloat16's tolerances; against float32 for the direction of
 * the gradients; and by a short Fashion-MNIST pretraining whose loss curve tracks float32's.
 */
class MixedPrecisionTest {
    // Wide enough that bfloat16's rounding shows, small enough for a test: 32 px RGB, patch 4 (64 patches).
    private static final MaeConfig F32 = MaeConfig.builder()
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
    private static final MaeConfig BF16 = F32.toBuilder().precision(DType.BF16).build();
    private static final int N = 4;
    private static final double MASK_RATIO = 0.75;

    private record Pass(double loss, double[] pred, Map<String, double[]> grads) {}

    private static Pass forwardBackward(Model m, Tensor pixels, Tensor noise) {
        try (Masker masker = Masker.fromNoise(noise, MASK_RATIO);
                ForwardResult r = m.forwardBackward(pixels, masker)) {
            assertEquals(DType.F32, r.pred().dtype(), "outputs come back as float32");
            Map<String, double[]> grads = new HashMap<>();
            for (ParameterInfo p : m.parameters())
                if (p.trainable())
                    try (Tensor g = m.gradient(p.name())) {
                        assertEquals(DType.F32, g.dtype(), "gradients are float32, as the master weights");
                        grads.put(p.name(), g.toDoubleArray());
                    }
            return new Pass(r.loss(), r.pred().toDoubleArray(), grads);
        }
    }

    /** bfloat16's unit roundoff: 8 significant bits, so a rounding errs by at most 2^-8 of the value. */
    static final double BF16_U = 0x1p-8;

    /**
     * The bfloat16 matrix products on the longest path from the pixels to the prediction (and, transposed, back to
     * any weight's gradient): the patch embedding, six per block (qkv, the two attention products, proj, fc1, fc2) in
     * the encoder and the decoder, the decoder embedding and the prediction head.
     */
    static int bf16Products(MaeConfig c) {
        return 1 + 6 * c.depth() + 1 + 6 * c.decoderDepth() + 1;
    }

    /**
     * How far two bfloat16 computations of the same float32 quantity may drift apart relative to its scale: each of
     * the k products on its path rounds its operands by at most u, errors that add up like a random walk (√k·u) for
     * each side, so the two differ by about √2·√k·u; twice that is the bound, the factor 2 for what the
     * element-wise work between products (softmax, GELU, LayerNorm in float32, rounded to bfloat16 again) adds.
     */
    static double bf16Drift(MaeConfig c) {
        return 2 * Math.sqrt(2.0 * bf16Products(c)) * BF16_U;
    }

    static double norm(double[] a) {
        double s = 0;
        for (double x : a) s += x * x;
        return Math.sqrt(s);
    }

    static double cosine(double[] a, double[] b) {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb);
    }

    private static double[] flat(Map<String, double[]> grads) {
        int n = grads.values().stream().mapToInt(g -> g.length).sum(), k = 0;
        double[] all = new double[n];
        for (String name : grads.keySet().stream().sorted().toList()) for (double x : grads.get(name)) all[k++] = x;
        return all;
    }

    private static double[] read(Path file, String name) throws Exception {
        try (SafeTensors st = SafeTensors.open(file)) {
            SafeTensors.Entry e = st.entries().get(name);
            assertTrue(e != null, file + " has no " + name);
            float[] f = e.data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) d[i] = f[i];
            return d;
        }
    }

    @Tag("python") // the others need no Python: --fast runs them
    @Test
    void matchesTorchAutocastAndKeepsTheGradientsDirection(@TempDir Path dir) throws Exception {
        Path python = Venv.python("torch, safetensors");
        Path weights = dir.resolve("weights.safetensors");
        double[] px = TestData.gaussian(N * 3 * 32 * 32, 91), nz = TestData.uniform(N * 64, 92);
        Pass fp32, bf16;
        try (Model m = Model.create(F32, Device.cpu(), 7);
                Tensor pixels = TestData.images(px, DType.F32, F32, N);
                Tensor noise = Tensor.fromDoubles(nz, N, 64)) {
            m.save(weights);
            try (Tensor ratio = Tensor.fromDoubles(new double[] {MASK_RATIO}, 1)) {
                SafeTensors.write(
                        dir.resolve("inputs.safetensors"),
                        Map.of(),
                        List.of(
                                new SafeTensors.Source("pixels", "F32", pixels.shape(), pixels.segment()),
                                new SafeTensors.Source("noise", "F64", noise.shape(), noise.segment()),
                                new SafeTensors.Source("mask_ratio", "F64", ratio.shape(), ratio.segment())));
            }
            fp32 = forwardBackward(m, pixels, noise);
            try (Model mixed = Model.load(weights, BF16, Device.cpu())) {
                assertEquals(DType.BF16, mixed.config().precision());
                bf16 = forwardBackward(mixed, pixels, noise);
            }
        }
        Venv.script(python, "bf16_reference.py", dir.toString());
        Path torch = dir.resolve("torch-bf16.safetensors");
        double torchLoss = read(torch, "loss")[0];

        // The same ops, cast where torch.autocast casts: the loss agrees far inside bfloat16's rounding (2^-9), the
        // prediction to a few per cent of its scale; and really in bfloat16, not float32 under another name (float32's
        // loss differs from both by about 3e-4 of itself here)
        assertEquals(torchLoss, bf16.loss(), 1e-4 * Math.abs(torchLoss), "loss vs torch.autocast");
        assertTrue(
                Math.abs(bf16.loss() - fp32.loss()) > 1e-5 * Math.abs(fp32.loss()),
                "bf16 " + bf16.loss() + " vs f32 " + fp32.loss() + ": the forward pass must round to bfloat16");
        // the prediction: its difference from torch.autocast's, measured against the prediction's own scale (RMS),
        // inside the drift two bfloat16 computations of it may show (bf16Drift: about 0.05 for this depth)
        double[] torchPred = read(torch, "pred"), predDiff = new double[torchPred.length];
        for (int i = 0; i < predDiff.length; i++) predDiff[i] = bf16.pred()[i] - torchPred[i];
        double predDrift = norm(predDiff) / norm(torchPred);
        double[] fromF32 = new double[torchPred.length];
        for (int i = 0; i < fromF32.length; i++) fromF32[i] = bf16.pred()[i] - fp32.pred()[i];
        double f32Drift = norm(fromF32) / norm(fp32.pred());
        System.out.printf(
                "bf16 prediction, relative RMS difference: vs torch.autocast %.5f, vs float32 %.5f (bound %.5f)%n",
                predDrift, f32Drift, bf16Drift(BF16));
        assertTrue(predDrift <= bf16Drift(BF16), "pred vs torch.autocast: relative RMS difference " + predDrift);
        // against float32, one side rounds: inside the bound, and not zero (the products really ran in bfloat16)
        assertTrue(f32Drift > 0 && f32Drift <= bf16Drift(BF16), "pred vs float32: relative RMS difference " + f32Drift);
        double withTorch = cosine(flat(torchGrads(torch, bf16.grads())), flat(bf16.grads()));
        double withF32 = cosine(flat(fp32.grads()), flat(bf16.grads()));
        System.out.printf(
                "bf16 vs torch.autocast: loss %.6f vs %.6f, gradient cosine %.5f; vs f32: loss %.6f, cosine %.5f%n",
                bf16.loss(), torchLoss, withTorch, fp32.loss(), withF32);
        assertTrue(withTorch >= 0.99, "gradient cosine with torch.autocast's " + withTorch);
        assertTrue(withF32 >= 0.99, "gradient cosine with float32's " + withF32);
        // Each parameter's gradient: the same direction, and the same size within the drift of two bfloat16
        // computations (a loss scale left in the gradients, or one undone twice, puts the ratio at 2 or 1/2)
        double worstRatio = 1, worstVsF32 = 1;
        for (String name : bf16.grads().keySet()) {
            double[] theirs = read(torch, "grad." + name), ours = bf16.grads().get(name);
            assertTrue(cosine(theirs, ours) >= 0.98, name + "'s gradient direction");
            double ratio = norm(ours) / norm(theirs),
                    vsF32 = norm(ours) / norm(fp32.grads().get(name));
            if (Math.abs(Math.log(ratio)) > Math.abs(Math.log(worstRatio))) worstRatio = ratio;
            if (Math.abs(Math.log(vsF32)) > Math.abs(Math.log(worstVsF32))) worstVsF32 = vsF32;
            assertEquals(1, ratio, bf16Drift(BF16), name + "'s gradient norm over torch.autocast's");
            assertEquals(1, vsF32, bf16Drift(BF16), name + "'s gradient norm over float32's");
        }
        System.out.printf(
                "bf16 gradient norms, furthest from 1: over torch.autocast's %.5f, over float32's %.5f (bound 1 ± %.5f)%n",
                worstRatio, worstVsF32, bf16Drift(BF16));
    }

    private static Map<String, double[]> torchGrads(Path file, Map<String, double[]> like) throws Exception {
        Map<String, double[]> out = new HashMap<>();
        for (String name : like.keySet()) out.put(name, read(file, "grad." + name));
        return out;
    }

    /**
     * 60 updates of the default pretraining model on Fashion-MNIST, float32 and bf16 from the same weights, batches
     * and masks: the bf16 loss curve stays within 1% of float32's (mean of every ten updates), and learns.
     */
    @Test
    void fashionMnistPretrainingTracksFloat32() throws Exception {
        IdxImages train = IdxImages.readSplit(IdxImages.DEBIAN_FASHION_MNIST, "train");
        ImageDataset data = train.asDataset(0.2860f, 0.3530f);
        double[] f32 = pretrain(MaeConfig.fashionMnistSmall(), data),
                bf16 =
                        pretrain(
                                MaeConfig.fashionMnistSmall().toBuilder()
                                        .precision(DType.BF16)
                                        .build(),
                                data);
        for (int w = 0; w < 6; w++) {
            double a = 0, b = 0;
            for (int i = 10 * w; i < 10 * w + 10; i++) {
                a += f32[i] / 10;
                b += bf16[i] / 10;
            }
            System.out.printf(
                    "updates %d-%d: f32 %.4f, bf16 %.4f (%+.2f%%)%n", 10 * w + 1, 10 * w + 10, a, b, 100 * (b - a) / a);
            assertEquals(a, b, 0.01 * a, "mean loss of updates " + (10 * w + 1) + "-" + (10 * w + 10));
        }
        assertTrue(bf16[59] < 0.9 * bf16[0], "bf16 training learns: " + bf16[0] + " -> " + bf16[59]);
    }

    private static double[] pretrain(MaeConfig c, ImageDataset data) {
        double[] losses = new double[60];
        try (Model m = Model.create(c, Device.cpu(), 5);
                Trainer t = Trainer.builder(m)
                        .schedule(LrSchedule.warmupCosine(1.5e-3, 1e-5, 5, 60))
                        .build();
                Masker masker = Masker.random(MASK_RATIO, 6)) {
            int batch = 64;
            for (int s = 0; s < 60; s++) {
                int[] idx = new int[batch];
                for (int i = 0; i < batch; i++) idx[i] = (s * batch + i) % data.size();
                try (Tensor x = data.batch(idx)) {
                    losses[s] = t.step(x, masker);
                }
            }
        }
        return losses;
    }

    @Test
    void fineTuningInBf16StaysCloseToFloat32() {
        MaeConfig c = F32.toBuilder().normPixLoss(false).build();
        double[] px = TestData.gaussian(N * 3 * 32 * 32, 93);
        long[] labels = {0, 1, 2, 1};
        double lossF32, lossBf16;
        double[] before, headF32, headBf16;
        try (Model m = Model.create(c, Device.cpu(), 8);
                Model mixed = Model.create(c.toBuilder().precision(DType.BF16).build(), Device.cpu(), 8);
                Classifier a = Classifier.fromEncoder(m, 3, 0.0, 1);
                Classifier b = Classifier.fromEncoder(mixed, 3, 0.0, 1);
                FineTuner ta = FineTuner.builder(a).stepThreads(1).build();
                FineTuner tb = FineTuner.builder(b).stepThreads(1).build();
                Tensor x = TestData.images(px, DType.F32, c, N);
                Tensor y = Tensor.fromLongs(labels, N)) {
            try (Tensor w = a.parameter("blocks.0.attn.qkv.weight")) {
                before = w.toDoubleArray();
            }
            lossF32 = ta.step(x, y);
            lossBf16 = tb.step(x, y);
            try (Tensor ha = a.parameter("blocks.0.attn.qkv.weight");
                    Tensor hb = b.parameter("blocks.0.attn.qkv.weight")) {
                assertEquals(DType.F32, hb.dtype(), "master weights stay float32");
                headF32 = ha.toDoubleArray();
                headBf16 = hb.toDoubleArray();
            }
        }
        assertEquals(lossF32, lossBf16, 1e-2 * lossF32, "fine-tuning loss");
        assertTrue(lossF32 != lossBf16, "the bf16 forward rounds");
        // The update itself (weights after minus before, the same before for both): AdamW's first step moves each
        // weight by about lr in the direction of its gradient's sign, so the two updates agree where the float32 and
        // bfloat16 gradients have the same sign: nearly everywhere, and in size.
        double[] dF32 = new double[before.length], dBf16 = new double[before.length], gap = new double[before.length];
        int sameSign = 0;
        for (int i = 0; i < before.length; i++) {
            dF32[i] = headF32[i] - before[i];
            dBf16[i] = headBf16[i] - before[i];
            gap[i] = dBf16[i] - dF32[i];
            if (Math.signum(dF32[i]) == Math.signum(dBf16[i])) sameSign++;
        }
        double agreeing = (double) sameSign / before.length, gapShare = norm(gap) / norm(dF32);
        System.out.printf(
                "fine-tuning's first update, bf16 vs f32: %.4f same sign, relative gap %.4f%n", agreeing, gapShare);
        assertTrue(norm(dF32) > 0 && norm(dBf16) > 0, "both steps moved the weights");
        assertEquals(1, norm(dBf16) / norm(dF32), 0.1, "the bf16 update's size over float32's");
        assertTrue(agreeing >= 0.9, "updates in the same direction: " + agreeing);
        assertTrue(gapShare <= 0.5, "the updates differ by " + gapShare + " of the float32 one");
    }
}
