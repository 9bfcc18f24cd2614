package dev.mae4j.cli;

import static dev.mae4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mae4j.Device;
import dev.mae4j.Encoder;
import dev.mae4j.FreePort;
import dev.mae4j.MaeConfig;
import dev.mae4j.Model;
import dev.mae4j.ParameterInfo;
import dev.mae4j.Tensor;
import dev.mae4j.data.ImageFolder;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InteropCommandTest {
    private static final MaeConfig RGB8 =
            MaeConfig.tiny().toBuilder().inChans(3).build();

    @TempDir
    Path dir;

    @Test
    void convertsHuggingFaceFoldersToReferenceSafetensorsAndBack() throws Exception {
        Path hf = dir.resolve("hf"), ref = dir.resolve("ref.safetensors"), back = dir.resolve("back");
        try (Model m = Model.create(RGB8, Device.cpu(), 5)) {
            m.saveHuggingFace(hf, 0.75);
            StringWriter err = new StringWriter();
            assertEquals(0, run(err, "convert", hf.toString(), ref.toString()), err.toString());
            assertEquals(0, run(err, "convert", ref.toString(), back.toString(), "--huggingface"), err.toString());
            for (Path p : new Path[] {ref, back})
                try (Model loaded = Model.load(p, Device.cpu())) {
                    assertEquals(RGB8, loaded.config());
                    for (ParameterInfo info : m.parameters())
                        try (Tensor a = m.parameter(info.name());
                                Tensor b = loaded.parameter(info.name())) {
                            assertArrayEquals(a.toFloatArray(), b.toFloatArray(), info.name());
                        }
                }
        }
        StringWriter err = new StringWriter();
        assertEquals(1, run(err, "convert", dir.resolve("missing.pth").toString(), ref.toString()));
        assertTrue(err.toString().contains("mae convert: no such file: " + dir.resolve("missing.pth")), err.toString());
    }

    @Test
    void embedsAFolderAsNpy() throws Exception {
        Path images = dir.resolve("images");
        for (int i = 0; i < 5; i++) {
            java.awt.image.BufferedImage img =
                    new java.awt.image.BufferedImage(8, 8, java.awt.image.BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++) img.setRGB(x, y, (x * 30 + y * 5 + i * 4000) & 0xffffff);
            Path f = images.resolve(i < 3 ? "a" : "b").resolve(i + ".png");
            Files.createDirectories(f.getParent());
            javax.imageio.ImageIO.write(img, "png", f.toFile());
        }
        Path weights = dir.resolve("mae.safetensors"), out = dir.resolve("features.npy");
        // the weights record their own normalisation: embed must use it, not a per-channel-count default
        float[] mean = {0.1f, 0.2f, 0.3f}, std = {0.4f, 0.5f, 0.6f};
        try (Model m = Model.create(RGB8, Device.cpu(), 6)) {
            m.setPreprocessing(dev.mae4j.Preprocessing.of(mean, std));
            m.save(weights);
        }
        StringWriter err = new StringWriter();
        assertEquals(
                0,
                run(
                        err,
                        "embed",
                        "--weights",
                        weights.toString(),
                        "--images",
                        images.toString(),
                        "--out",
                        out.toString(),
                        "--output",
                        "mean",
                        "--batch",
                        "2"),
                err.toString());
        byte[] npy = Files.readAllBytes(out);
        int headerLen =
                ByteBuffer.wrap(npy, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort();
        String header = new String(npy, 10, headerLen, StandardCharsets.US_ASCII);
        assertTrue(header.contains("'descr': '<f4'") && header.contains("'shape': (5, 8)"), header);
        assertEquals(0, (10 + headerLen) % 64, "numpy aligns the data to 64 bytes");
        assertEquals(10 + headerLen + 5 * 8 * 4, npy.length);
        // the rows are the encoder's features of the listed images, in order
        assertArrayEquals(
                features(images, weights, mean, std),
                rows(npy, headerLen, 40),
                1e-5f,
                "the encoder's features of the images normalised as the weights record, up to the batch size's rounding");
        assertFalse(err.toString().contains("notice"), err.toString());

        // weights that record nothing: ImageNet's statistics for RGB, and a one-line notice naming the file
        Path bare = dir.resolve("bare.safetensors");
        try (Model m = Model.create(RGB8, Device.cpu(), 6)) {
            m.save(bare);
        }
        SafetensorsHeader.removeMetadata(bare, "image_mean", "image_std");
        err = new StringWriter();
        assertEquals(
                0,
                run(
                        err,
                        "embed",
                        "--weights",
                        bare.toString(),
                        "--images",
                        images.toString(),
                        "--out",
                        out.toString(),
                        "--output",
                        "mean"),
                err.toString());
        assertTrue(
                err.toString()
                        .contains("notice: " + bare + " records no preprocessing: using the default for 3 channels"),
                err.toString());
        npy = Files.readAllBytes(out);
        assertArrayEquals(
                features(images, bare, new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f}),
                rows(npy, headerLen, 40),
                1e-5f);

        // an explicit option wins over what the file records
        err = new StringWriter();
        assertEquals(
                0,
                run(
                        err,
                        "embed",
                        "--weights",
                        weights.toString(),
                        "--images",
                        images.toString(),
                        "--out",
                        out.toString(),
                        "--output",
                        "mean",
                        "--image-mean",
                        "0.5,0.5,0.5",
                        "--image-std",
                        "0.25,0.25,0.25"),
                err.toString());
        npy = Files.readAllBytes(out);
        assertArrayEquals(
                features(images, weights, new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.25f, 0.25f, 0.25f}),
                rows(npy, headerLen, 40),
                1e-5f);
        assertEquals(5, Files.readAllLines(dir.resolve("features.txt")).size());
        err = new StringWriter();
        assertEquals(
                2,
                run(
                        err,
                        "embed",
                        "--weights",
                        weights.toString(),
                        "--images",
                        images.toString(),
                        "--out",
                        out.toString(),
                        "--output",
                        "pooled"));
        assertTrue(err.toString().contains("--output must be cls, mean or tokens"), err.toString());
    }

    /** The encoder's mean-pooled features of every image in {@code images}, normalised with {@code mean} and {@code std}. */
    private static float[] features(Path images, Path weights, float[] mean, float[] std) throws Exception {
        ImageFolder folder = new ImageFolder(images, 8, 3, mean, std);
        try (Encoder e = Encoder.load(weights, Device.cpu());
                Tensor x = folder.batch(new int[] {0, 1, 2, 3, 4});
                Tensor f = e.embed(x, Encoder.Output.MEAN)) {
            return f.toFloatArray();
        }
    }

    private static float[] rows(byte[] npy, int headerLen, int count) {
        float[] actual = new float[count];
        ByteBuffer.wrap(npy, 10 + headerLen, 4 * count)
                .order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer()
                .get(actual);
        return actual;
    }

    @Test
    void benchPrintsImagesPerSecondAndExportsWhatPythonMustReproduce() throws Exception {
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.out;
        Path check = dir.resolve("check");
        try {
            System.setOut(new java.io.PrintStream(captured, true, StandardCharsets.UTF_8));
            assertEquals(
                    0,
                    run(
                            new StringWriter(),
                            "bench",
                            "--config",
                            "fashion-mnist",
                            "--batch",
                            "2",
                            "--steps",
                            "2",
                            "--warmup",
                            "0",
                            "--export-check",
                            check.toString()));
        } finally {
            System.setOut(old);
        }
        com.fasterxml.jackson.databind.JsonNode line = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(captured.toString(StandardCharsets.UTF_8)
                        .lines()
                        .filter(l -> l.startsWith("{"))
                        .findFirst()
                        .orElseThrow());
        assertEquals("java", line.get("driver").asText());
        assertTrue(line.get("images_per_s").asDouble() > 0);
        assertEquals(
                dev.mae4j.Flops.trainingStepPerImage(MaeConfig.fashionMnist(), 0.75),
                line.get("train_flops_per_image").asDouble());
        assertEquals(
                line.get("train_flops_per_image").asDouble()
                        * line.get("images_per_s").asDouble()
                        / 1e12,
                line.get("achieved_tflops").asDouble(),
                1e-9,
                "achieved TFLOP/s = FLOPs per image × images/s");
        double median = line.get("median_ms").asDouble();
        assertTrue(
                line.get("p25_ms").asDouble() <= median
                        && median <= line.get("p75_ms").asDouble(),
                line.toString());
        assertEquals(1000.0 * 2 / median, line.get("images_per_s").asDouble(), 1e-9, "images/s at the median step");
        assertEquals(2, line.get("steps").asInt());
        int settle = line.get("jvm_settle_steps").asInt();
        assertTrue(settle >= 1 && settle <= JvmActivity.MAX_SETTLE_STEPS, "settle steps " + settle);
        // the JIT's time while measuring where the JVM reports compile times (-1 says it does not), GC runs counted
        boolean jitTimed = java.lang.management.ManagementFactory.getCompilationMXBean() != null
                && java.lang.management.ManagementFactory.getCompilationMXBean().isCompilationTimeMonitoringSupported();
        long jitMs = line.get("jit_ms_measured").asLong();
        assertTrue(jitTimed ? jitMs >= 0 : jitMs == -1, line.toString());
        assertTrue(line.get("gc_count_measured").asLong() >= 0, line.toString());
        // the export is self-consistent: the weights' forward pass on the exported images and noise gives the
        // exported loss and prediction, which is what bench_step.py asks PyTorch to reproduce
        try (Model m = Model.load(check.resolve("weights.safetensors"), Device.cpu());
                dev.mae4j.io.SafeTensors st = dev.mae4j.io.SafeTensors.open(check.resolve("check.safetensors"))) {
            assertEquals(MaeConfig.fashionMnist(), m.config());
            var e = st.entries();
            assertArrayEquals(new long[] {2, 1, 28, 28}, e.get("images").shape());
            assertArrayEquals(new long[] {2, 49}, e.get("noise").shape());
            float[] px = e.get("images").data().toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED),
                    nz = e.get("noise").data().toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED);
            try (Tensor images = Tensor.fromFloats(px, 2, 1, 28, 28);
                    Tensor noise = Tensor.fromFloats(nz, 2, 49);
                    dev.mae4j.Masker masker = dev.mae4j.Masker.fromNoise(noise, 0.75);
                    dev.mae4j.ForwardResult f = m.forward(images, masker)) {
                float loss = e.get("loss").data().get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0);
                assertEquals(loss, (float) f.loss(), "the exported loss is the weights' on the exported inputs");
                assertArrayEquals(
                        e.get("pred").data().toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED),
                        f.pred().toFloatArray(),
                        "the exported prediction");
            }
        }
        StringWriter err = new StringWriter();
        assertEquals(2, run(err, "bench", "--config", "huge"));
        assertTrue(err.toString().contains("unknown preset 'huge' (vit-base16, "), err.toString());
    }

    @Test
    void dataParallelBenchRanksTakeTheSameSteps() throws Exception {
        int port = FreePort.find();
        // every step all-reduces: a rank that warmed up longer than the other would wait for it until the timeout
        assertEquals(
                0,
                run(
                        new StringWriter(),
                        "bench",
                        "--config",
                        "fashion-mnist",
                        "--batch",
                        "2",
                        "--steps",
                        "3",
                        "--warmup",
                        "1",
                        "--nproc-per-node",
                        "2",
                        "--master-port",
                        Integer.toString(port),
                        "--dist-timeout",
                        "30"));
    }
}
