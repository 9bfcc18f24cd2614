package dev.mae4j.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.mae4j.Device;
import dev.mae4j.Encoder;
import dev.mae4j.Library;
import dev.mae4j.MaeConfig;
import dev.mae4j.Model;
import dev.mae4j.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Encoder inference: mae4j's {@link Encoder} against ONNX Runtime Java on an ONNX export of the same weights
 * (benchmarks/python/export_encoder_onnx.py), in one JVM on the same CPU. Both take images already off-heap and
 * hand back the normalised [CLS] features as a float[]; outputs are checked equal before anything is timed. Rounds
 * interleave the two (and ONNX Runtime with its threads spinning and sleeping), alternating who goes first; each
 * figure is the median of the rounds. One JSON line per batch size.
 */
@Command(name = "encoder-vs-onnxruntime", mixinStandardHelpOptions = true)
public final class EncoderVsOnnxRuntime implements Callable<Integer> {
    @Option(names = "--weights", required = true, description = "MAE weights written by mae4j (Model.save).")
    Path weights;

    @Option(names = "--onnx", description = "The ONNX export of the same weights.")
    Path onnx;

    @Option(
            names = "--write-preset",
            description = "Only write freshly initialised weights of this preset to --weights.")
    String writePreset;

    @Option(names = "--batches", split = ",", defaultValue = "1,8,32")
    int[] batches;

    @Option(names = "--rounds", defaultValue = "20")
    int rounds;

    @Option(names = "--threads", description = "Intra-op threads of both (default: every core).")
    Integer threads;

    @Option(
            names = "--profile-only",
            description = "Only run mae4j's encoder (bf16 with --bf16) --rounds times per batch, for a profiler.")
    boolean profileOnly;

    @Option(names = "--bf16", description = "Also time mae4j's encoder with bfloat16 products (Encoder.setBf16).")
    boolean bf16;

    public static void main(String[] args) {
        System.exit(new CommandLine(new EncoderVsOnnxRuntime()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (writePreset != null) {
            try (Model m = Model.create(MaeConfig.preset(writePreset), Device.cpu(), 1)) {
                m.save(weights);
            }
            return 0;
        }
        if (profileOnly) return profile();
        if (onnx == null) throw new CommandLine.ParameterException(new CommandLine(this), "--onnx is required");
        int cores = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (threads != null) Library.setThreads(threads);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (Encoder encoder = Encoder.load(weights, Device.cpu());
                Encoder encoderBf16 = Encoder.load(weights, Device.cpu());
                OrtSession spinning = session(env, cores, true);
                OrtSession sleeping = session(env, cores, false);
                Arena arena = Arena.ofShared()) {
            encoderBf16.setBf16(true);
            MaeConfig c = encoder.config();
            int per = c.inChans() * c.imgSize() * c.imgSize();
            for (int n : batches) {
                float[] pixels = new float[n * per];
                Random r = new Random(n);
                for (int i = 0; i < pixels.length; i++) pixels[i] = (float) r.nextGaussian();
                MemorySegment images = arena.allocate((long) pixels.length * Float.BYTES, 64);
                MemorySegment.copy(pixels, 0, images, ValueLayout.JAVA_FLOAT, 0, pixels.length);
                long[] shape = {n, c.inChans(), c.imgSize(), c.imgSize()};
                Callable<float[]> mae = () -> {
                    try (Tensor in = Tensor.wrap(images, shape);
                            Tensor out = encoder.embed(in, Encoder.Output.CLS)) {
                        return out.toFloatArray();
                    }
                };
                FloatBuffer buffer = images.asByteBuffer()
                        .order(java.nio.ByteOrder.nativeOrder())
                        .asFloatBuffer();
                Callable<float[]> ortSpin = () -> run(env, spinning, buffer, shape);
                Callable<float[]> ortSleep = () -> run(env, sleeping, buffer, shape);
                Callable<float[]> maeBf16 = () -> {
                    try (Tensor in = Tensor.wrap(images, shape);
                            Tensor out = encoderBf16.embed(in, Encoder.Output.CLS)) {
                        return out.toFloatArray();
                    }
                };
                float[] reference = mae.call();
                double err = maxRelativeDifference(ortSleep.call(), reference);
                if (!(err < 1e-3)) throw new IllegalStateException("outputs differ: max relative difference " + err);
                double cosine = bf16 ? minCosine(reference, maeBf16.call(), c.embedDim()) : Double.NaN;
                List<Callable<float[]>> all =
                        bf16 ? List.of(mae, ortSpin, ortSleep, maeBf16) : List.of(mae, ortSpin, ortSleep);
                for (Callable<float[]> f : all) for (int w = 0; w < 3; w++) f.call();
                double[][] ms = new double[all.size()][rounds];
                for (int round = 0; round < rounds; round++)
                    for (int j = 0; j < all.size(); j++) {
                        int k = (j + round) % all.size(); // who goes first rotates
                        long t0 = System.nanoTime();
                        all.get(k).call();
                        ms[k][round] = (System.nanoTime() - t0) / 1e6;
                    }
                double m = median(ms[0]), spin = median(ms[1]), sleep = median(ms[2]), ort = Math.min(spin, sleep);
                double mb = bf16 ? median(ms[3]) : Double.NaN;
                System.out.printf(
                        "{\"config\":\"%s\",\"batch\":%d,\"threads\":%d,\"mae4j_ms\":%.2f,\"ort_spinning_ms\":%.2f,"
                                + "\"ort_sleeping_ms\":%.2f,\"mae4j_img_s\":%.2f,\"ort_img_s\":%.2f,"
                                + "\"throughput_ratio\":%.3f,\"max_rel_diff\":%.2e,\"rounds\":%d,"
                                + "\"mae4j_bf16_ms\":%.2f,\"bf16_ratio\":%.3f,\"bf16_min_cosine\":%.6f}%n",
                        weights.getFileName(),
                        n,
                        cores,
                        m,
                        spin,
                        sleep,
                        n * 1000 / m,
                        n * 1000 / ort,
                        ort / m,
                        err,
                        rounds,
                        mb,
                        ort / mb,
                        cosine);
            }
        }
        return 0;
    }

    private int profile() throws Exception {
        try (Encoder encoder = Encoder.load(weights, Device.cpu())) {
            encoder.setBf16(bf16);
            MaeConfig c = encoder.config();
            for (int n : batches) {
                try (Tensor images = Tensor.zeros(dev.mae4j.DType.F32, n, c.inChans(), c.imgSize(), c.imgSize())) {
                    long t0 = System.nanoTime();
                    for (int i = 0; i < rounds; i++)
                        encoder.embed(images, Encoder.Output.CLS).close();
                    System.out.printf(
                            "{\"batch\":%d,\"bf16\":%b,\"mean_ms\":%.2f}%n",
                            n, bf16, (System.nanoTime() - t0) / 1e6 / rounds);
                }
            }
        }
        return 0;
    }

    private OrtSession session(OrtEnvironment env, int threads, boolean spin) throws OrtException {
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        o.setIntraOpNumThreads(threads);
        o.addConfigEntry("session.intra_op.allow_spinning", spin ? "1" : "0");
        return env.createSession(onnx.toString(), o);
    }

    private static float[] run(OrtEnvironment env, OrtSession s, FloatBuffer images, long[] shape) throws OrtException {
        try (OnnxTensor in = OnnxTensor.createTensor(env, images, shape);
                OrtSession.Result out = s.run(Map.of("images", in))) {
            float[][] rows = (float[][]) out.get(0).getValue();
            float[] flat = new float[rows.length * rows[0].length];
            for (int i = 0; i < rows.length; i++)
                System.arraycopy(rows[i], 0, flat, i * rows[0].length, rows[0].length);
            return flat;
        }
    }

    private static double maxRelativeDifference(float[] a, float[] b) {
        if (a.length != b.length) return Double.POSITIVE_INFINITY;
        double scale = 0, diff = 0;
        for (int i = 0; i < a.length; i++) {
            scale = Math.max(scale, Math.abs(a[i]));
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
        }
        return diff / Math.max(scale, 1e-30);
    }

    /** The smallest cosine between corresponding rows of width d. */
    private static double minCosine(float[] a, float[] b, int d) {
        double min = 1;
        for (int r = 0; r < a.length / d; r++) {
            double dot = 0, x = 0, y = 0;
            for (int k = r * d; k < (r + 1) * d; k++) {
                dot += a[k] * b[k];
                x += a[k] * a[k];
                y += b[k] * b[k];
            }
            min = Math.min(min, dot / Math.sqrt(x * y));
        }
        return min;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
