package dev.mae4j.cli;

import static dev.mae4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mae4j.Device;
import dev.mae4j.FreePort;
import dev.mae4j.MaeConfig;
import dev.mae4j.Model;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@Tag("slow")
class PretrainCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    static void writeImages(Path dir, int n) throws IOException {
        writeSplit(dir, "train", n);
        writeSplit(dir, "t10k", n / 2);
    }

    private static void writeSplit(Path dir, String split, int n) throws IOException {
        ByteBuffer img = ByteBuffer.allocate(16 + n * 784)
                .putInt(0x803)
                .putInt(n)
                .putInt(28)
                .putInt(28);
        for (int i = 0; i < n * 784; i++) img.put((byte) (i * 7 + i / 784));
        ByteBuffer lab = ByteBuffer.allocate(8 + n).putInt(0x801).putInt(n);
        for (int i = 0; i < n; i++) lab.put((byte) (i % 10));
        gzip(dir.resolve(split + "-images-idx3-ubyte.gz"), img.array());
        gzip(dir.resolve(split + "-labels-idx1-ubyte.gz"), lab.array());
    }

    private static void gzip(Path file, byte[] content) throws IOException {
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            out.write(content);
        }
    }

    private String[] args(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of(
                "pretrain",
                "--data",
                dir.toString(),
                "--out",
                out.toString(),
                "--batch",
                "4",
                "--log-every",
                "1",
                "--warmup-steps",
                "2",
                "--probe-epochs",
                "2"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    private static List<JsonNode> metrics(Path out) throws IOException {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) rows.add(JSON.readTree(line));
        return rows;
    }

    @Test
    void pretrainsAndWritesMetricsAndALoadableModel() throws IOException {
        writeImages(dir, 32);
        Path out = dir.resolve("run");
        assertEquals(0, run(new StringWriter(), args(out, "--steps", "3", "--accum-iter", "2")));
        try (Model m = Model.load(out.resolve("last.safetensors"), Device.cpu())) {
            assertEquals(MaeConfig.fashionMnistSmall(), m.config());
            // Fashion-MNIST's training-set statistics, which pretraining normalised with, travel with the weights
            assertArrayEquals(new float[] {0.2860f}, m.preprocessing().mean());
            assertArrayEquals(new float[] {0.3530f}, m.preprocessing().std());
            assertTrue(m.preprocessing().recorded());
        }
        List<JsonNode> rows = metrics(out);
        assertEquals(3, rows.size());
        for (String field : List.of("step", "epoch", "loss", "lr", "images_per_s", "data_wait_fraction"))
            assertTrue(rows.get(0).has(field), "metrics lack " + field);
        assertEquals(0.0, rows.get(0).get("lr").asDouble(), 0.0, "the first update is at lr 0, as the reference");
        assertEquals(
                0.75,
                rows.get(2).get("epoch").asDouble(),
                1e-12,
                "3 updates × 2 micro-batches of 4 = 0.75 epochs of 32");
        assertTrue(Files.exists(out.resolve("checkpoint.safetensors")));
        JsonNode report = JSON.readTree(out.resolve("report.json").toFile());
        for (String field :
                List.of("linear_probe_top1", "linear_probe_top1_random_init", "knn_top1", "config", "duration_s"))
            assertTrue(report.has(field), "report lacks " + field);
        double top1 = report.get("linear_probe_top1").asDouble();
        assertTrue(top1 >= 0 && top1 <= 1, "accuracy " + top1);
        assertEquals(28, report.get("config").get("imgSize").asInt());
        java.awt.image.BufferedImage fig =
                javax.imageio.ImageIO.read(out.resolve("reconstructions.png").toFile());
        assertEquals(4 * 28 * 4 + 3 * 2, fig.getWidth(), "four panels of 28 px scaled ×4 with gaps");
        assertEquals(8 * 28 * 4 + 7 * 2, fig.getHeight(), "eight images");
        assertTrue(javax.imageio.ImageIO.read(out.resolve("loss.png").toFile()).getWidth() > 0);
    }

    @Test
    void linprobeReportsOnACheckpointAndOtherMaskTypesTrain() throws IOException {
        writeImages(dir, 32);
        Path out = dir.resolve("grid");
        assertEquals(0, run(new StringWriter(), args(out, "--steps", "3", "--mask-type", "grid", "--no-eval")));
        Path report = dir.resolve("probe.json");
        StringWriter probeErr = new StringWriter();
        assertEquals(
                0,
                run(
                        probeErr,
                        "linprobe",
                        "--weights",
                        out.resolve("last.safetensors").toString(),
                        "--data",
                        dir.toString(),
                        "--probe-train",
                        "20",
                        "--probe-test",
                        "10",
                        "--probe-epochs",
                        "2",
                        "--knn-k",
                        "3",
                        "--out",
                        report.toString()));
        assertFalse(probeErr.toString().contains("notice"), "the weights record their normalisation: " + probeErr);
        Path bare = dir.resolve("bare.safetensors");
        Files.copy(out.resolve("last.safetensors"), bare);
        SafetensorsHeader.removeMetadata(bare, "image_mean", "image_std");
        probeErr = new StringWriter();
        assertEquals(
                0,
                run(
                        probeErr,
                        "linprobe",
                        "--weights",
                        bare.toString(),
                        "--data",
                        dir.toString(),
                        "--probe-train",
                        "20",
                        "--probe-test",
                        "10",
                        "--probe-epochs",
                        "1",
                        "--knn-k",
                        "3"));
        assertTrue(
                probeErr.toString()
                        .contains("notice: " + bare + " records no preprocessing: using the default for 1 channel "
                                + "(mean [0.5], std [0.5])"),
                probeErr.toString());
        JsonNode r = JSON.readTree(report.toFile());
        for (String field : List.of(
                "linear_probe_top1", "knn_top1", "linear_probe_top1_mean_pool", "linear_probe_top1_random_init"))
            assertTrue(r.has(field), "report lacks " + field);
        assertEquals(20, r.get("probe_train_images").asInt());
        Path mixed = dir.resolve("bf16");
        StringWriter mixedErr = new StringWriter();
        assertEquals(
                0, run(mixedErr, args(mixed, "--steps", "3", "--precision", "bf16", "--no-eval")), mixedErr.toString());
        assertEquals(3, metrics(mixed).size());
        try (Model m = Model.load(mixed.resolve("last.safetensors"), Device.cpu())) {
            assertEquals(dev.mae4j.DType.F32, m.config().precision(), "bf16 training keeps float32 weights");
        }
        Path byEpochs = dir.resolve("epochs");
        assertEquals(0, run(new StringWriter(), args(byEpochs, "--epochs", "0.5", "--no-eval")));
        assertEquals(4, metrics(byEpochs).size(), "half of 32 images in batches of 4 is 4 updates");
        StringWriter err = new StringWriter();
        assertEquals(2, run(err, args(dir.resolve("bad"), "--mask-type", "stripes")));
        assertTrue(err.toString().contains("--mask-type must be random, block or grid"), err.toString());
        err = new StringWriter();
        assertEquals(2, run(err, args(dir.resolve("bad"), "--steps", "3", "--epochs", "1")));
        assertTrue(err.toString().contains("give --steps or --epochs, not both"), err.toString());
        err = new StringWriter();
        assertEquals(2, run(err, "linprobe"));
        assertTrue(err.toString().contains("Missing required option: '--weights"), err.toString());
    }

    @Test
    void pretrainsOnAFolderOfImages() throws IOException {
        Path folder = dir.resolve("pictures");
        for (int i = 0; i < 6; i++) {
            java.awt.image.BufferedImage img =
                    new java.awt.image.BufferedImage(20 + i, 18, java.awt.image.BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 18; y++)
                for (int x = 0; x < 20 + i; x++) img.setRGB(x, y, (x * 40 + y * 7 + i * 1000) & 0xffffff);
            Path f = folder.resolve(i % 2 == 0 ? "even" : "odd").resolve(i + ".png");
            Files.createDirectories(f.getParent());
            javax.imageio.ImageIO.write(img, "png", f.toFile());
        }
        Files.writeString(folder.resolve("odd/corrupt.png"), "not a png");
        Path out = dir.resolve("folder-run");
        StringWriter err = new StringWriter();
        assertEquals(
                0,
                run(
                        err,
                        "pretrain",
                        "--images",
                        folder.toString(),
                        "--img-size",
                        "16",
                        "--patch-size",
                        "4",
                        "--in-chans",
                        "3",
                        "--batch",
                        "2",
                        "--steps",
                        "3",
                        "--warmup-steps",
                        "1",
                        "--log-every",
                        "1",
                        "--out",
                        out.toString(),
                        "--image-mean",
                        "0.4,0.5,0.6",
                        "--image-std",
                        "0.2,0.3,0.4"),
                err.toString());
        try (Model m = Model.load(out.resolve("last.safetensors"), Device.cpu())) {
            assertEquals(3, m.config().inChans());
            assertEquals(16, m.config().imgSize());
            assertArrayEquals(
                    new float[] {0.4f, 0.5f, 0.6f}, m.preprocessing().mean(), "the given normalisation is recorded");
            assertArrayEquals(new float[] {0.2f, 0.3f, 0.4f}, m.preprocessing().std());
        }
        assertEquals(3, metrics(out).size());

        Path shard = dir.resolve("pictures.maeshard");
        assertEquals(
                0,
                run(
                        new StringWriter(),
                        "pack",
                        "--images",
                        folder.toString(),
                        "--out",
                        shard.toString(),
                        "--img-size",
                        "16",
                        "--in-chans",
                        "3"));
        Path fromShard = dir.resolve("shard-run");
        assertEquals(
                0,
                run(
                        new StringWriter(),
                        "pretrain",
                        "--shard",
                        shard.toString(),
                        "--img-size",
                        "16",
                        "--patch-size",
                        "4",
                        "--in-chans",
                        "3",
                        "--batch",
                        "2",
                        "--steps",
                        "3",
                        "--warmup-steps",
                        "1",
                        "--log-every",
                        "1",
                        "--out",
                        fromShard.toString()));
        assertEquals(3, metrics(fromShard).size());
        try (Model m = Model.load(fromShard.resolve("last.safetensors"), Device.cpu())) {
            assertArrayEquals(
                    new float[] {0.485f, 0.456f, 0.406f}, m.preprocessing().mean(), "RGB's default, recorded");
            assertArrayEquals(
                    new float[] {0.229f, 0.224f, 0.225f}, m.preprocessing().std());
            assertTrue(m.preprocessing().recorded());
        }

        Path figure = dir.resolve("figure.png");
        assertEquals(
                0,
                run(
                        new StringWriter(),
                        "reconstruct",
                        "--weights",
                        out.resolve("last.safetensors").toString(),
                        "--image",
                        folder.resolve("even/0.png").toString(),
                        "--out",
                        figure.toString(),
                        "--seed",
                        "3"));
        java.awt.image.BufferedImage fig = javax.imageio.ImageIO.read(figure.toFile());
        assertEquals(4 * 16 * 4 + 3 * 2, fig.getWidth());
        assertEquals(16 * 4, fig.getHeight());
        err = new StringWriter();
        assertEquals(
                1,
                run(
                        err,
                        "reconstruct",
                        "--weights",
                        out.resolve("last.safetensors").toString(),
                        "--image",
                        folder.resolve("odd/corrupt.png").toString(),
                        "--out",
                        figure.toString()));
        assertTrue(err.toString().contains("corrupt.png"), err.toString());
    }

    @Test
    void sweepTabulatesAndPlotsOneRunPerRatio() throws IOException {
        writeImages(dir, 32);
        Path out = dir.resolve("sweep");
        assertEquals(
                0,
                run(
                        new StringWriter(),
                        "sweep",
                        "--mask-ratios",
                        "0.5,0.75",
                        "--out",
                        out.toString(),
                        "--",
                        "--data",
                        dir.toString(),
                        "--batch",
                        "4",
                        "--steps",
                        "3",
                        "--warmup-steps",
                        "1",
                        "--probe-epochs",
                        "1",
                        "--probe-train",
                        "16",
                        "--probe-test",
                        "8",
                        "--knn-k",
                        "3"));
        List<String> table = Files.readAllLines(out.resolve("sweep.md"));
        assertEquals(4, table.size(), "header, rule and two rows");
        assertTrue(table.get(2).startsWith("| 0.50 |") && table.get(3).startsWith("| 0.75 |"), table.toString());
        assertTrue(javax.imageio.ImageIO.read(out.resolve("sweep.png").toFile()).getWidth() > 0);
    }

    @Test
    void anInterruptedRunResumedGivesTheSameLosses() throws IOException {
        writeImages(dir, 16);
        Path straight = dir.resolve("straight"), broken = dir.resolve("broken");
        assertEquals(0, run(new StringWriter(), args(straight, "--steps", "7", "--no-eval")));
        assertEquals(
                3,
                run(
                        new StringWriter(),
                        args(broken, "--steps", "7", "--checkpoint-every", "2", "--interrupt-after", "5")));
        assertEquals(5, metrics(broken).size(), "updates 1..5 were logged, the checkpoint holds update 4");
        Path checkpoint = broken.resolve("checkpoint.safetensors");
        SafetensorsHeader.setMetadata(checkpoint, "progress.elapsed_s", "1000000"); // the time so far counts on
        long resumed = System.nanoTime();
        assertEquals(0, run(new StringWriter(), args(broken, "--steps", "7", "--resume", "--no-eval")));
        double elapsed = Double.parseDouble(SafetensorsHeader.metadata(checkpoint, "progress.elapsed_s"));
        assertTrue(elapsed > 1e6 && elapsed <= 1e6 + (System.nanoTime() - resumed) / 1e9, "elapsed_s " + elapsed);
        List<JsonNode> a = metrics(straight), b = metrics(broken);
        assertEquals(7, b.size());
        for (int i = 0; i < 7; i++) {
            assertEquals(a.get(i).get("step").asLong(), b.get(i).get("step").asLong());
            assertEquals(
                    a.get(i).get("loss").asDouble(), b.get(i).get("loss").asDouble(), 0.0, "loss of update " + (i + 1));
            assertEquals(a.get(i).get("lr").asDouble(), b.get(i).get("lr").asDouble(), 0.0);
        }
        StringWriter err = new StringWriter();
        assertEquals(
                2,
                run(
                        err,
                        "pretrain",
                        "--data",
                        dir.toString(),
                        "--out",
                        broken.toString(),
                        "--steps",
                        "7",
                        "--resume",
                        "--batch",
                        "2"));
        assertTrue(err.toString().contains("the checkpoint was written with batch = 4"), err.toString());
    }

    @Test
    void pretrainsDataParallelOverTwoWorkerProcesses() throws IOException {
        writeImages(dir, 32);
        Path out = dir.resolve("ddp");
        int port = FreePort.find();
        // two JVMs started by the launcher, each with its half of the data; rank 0 writes everything
        assertEquals(
                0,
                run(
                        new StringWriter(),
                        args(
                                out,
                                "--steps",
                                "3",
                                "--nproc-per-node",
                                "2",
                                "--master-port",
                                Integer.toString(port),
                                "--dist-timeout",
                                "60")));
        List<JsonNode> rows = metrics(out);
        assertEquals(3, rows.size());
        assertEquals(
                0.75,
                rows.get(2).get("epoch").asDouble(),
                1e-12,
                "3 updates of 4 images = 0.75 epochs of each rank's 16");
        try (Model m = Model.load(out.resolve("last.safetensors"), Device.cpu())) {
            assertEquals(MaeConfig.fashionMnistSmall(), m.config());
        }
        assertTrue(JSON.readTree(out.resolve("report.json").toFile()).has("linear_probe_top1"));
        String rank1 = Files.readString(out.resolve("logs").resolve("rank-1.log"));
        assertTrue(rank1.contains("rank 1 of 2"), rank1);
        assertTrue(rank1.contains("updates of 8 images (batch 4 × 1 × 2 ranks)"), rank1);
        StringWriter err = new StringWriter();
        assertEquals(2, run(err, args(dir.resolve("bad"), "--nproc-per-node", "2", "--node-rank", "1")));
        assertTrue(err.toString().contains("--node-rank must be in [0, 1)"), err.toString());
    }

    @Test
    void badArgumentsAndMissingDataAreClearErrors() {
        StringWriter err = new StringWriter();
        assertEquals(2, run(err, "pretrain", "--batch", "0"));
        assertTrue(err.toString().contains("--batch must be positive"), err.toString());
        err = new StringWriter();
        assertEquals(2, run(err, "pretrain", "--precision", "f16"));
        assertTrue(err.toString().contains("--precision must be f32, f64 or bf16, got f16"), err.toString());
        err = new StringWriter();
        assertEquals(2, run(err, "pretrain", "--mask-ratio", "1.5"));
        assertTrue(err.toString().contains("--mask-ratio must be in [0, 1)"), err.toString());
        err = new StringWriter();
        assertEquals(
                1,
                run(
                        err,
                        "pretrain",
                        "--data",
                        dir.resolve("nothing").toString(),
                        "--out",
                        dir.resolve("o").toString()));
        assertTrue(err.toString().contains("apt-get install dataset-fashion-mnist"), err.toString());
    }
}
