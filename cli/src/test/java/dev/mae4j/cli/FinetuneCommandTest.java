package dev.mae4j.cli;

import static dev.mae4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mae4j.Classifier;
import dev.mae4j.Device;
import dev.mae4j.FreePort;
import dev.mae4j.MaeConfig;
import dev.mae4j.Model;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@Tag("slow")
class FinetuneCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void fineTunesPretrainedWeightsAndReportsTestAccuracy() throws IOException {
        PretrainCommandTest.writeImages(dir, 32);
        Path weights = pretrainedWeights();
        // a normalisation no default has: fine-tuning must use the one the weights record, and pass it on
        SafetensorsHeader.setMetadata(weights, "image_mean", "[0.25]");
        SafetensorsHeader.setMetadata(weights, "image_std", "[0.5]");
        Path out = dir.resolve("ft");
        StringWriter err = new StringWriter();
        assertEquals(
                0,
                run(
                        err,
                        "finetune",
                        "--weights",
                        weights.toString(),
                        "--data",
                        dir.toString(),
                        "--out",
                        out.toString(),
                        "--batch",
                        "8",
                        "--epochs",
                        "2",
                        "--log-every",
                        "1"),
                err.toString());
        JsonNode report = JSON.readTree(out.resolve("report.json").toFile());
        for (String field : List.of(
                "test_top1", "init", "test_top1_per_epoch", "config", "duration_s", "layer_decay", "label_smoothing"))
            assertTrue(report.has(field), "report lacks " + field);
        assertEquals(weights.toAbsolutePath().toString(), report.get("init").asText());
        assertEquals(0.25, report.get("reprob").asDouble(), "the reference's random erasing by default");
        assertTrue(
                report.get("augment")
                        .asText()
                        .endsWith("+ RandAugment(rand-m9-mstd0.5-inc1) + RandomErasing(0.25, pixel)"),
                report.get("augment").asText());
        assertEquals(
                "rand-m9-mstd0.5-inc1", report.get("auto_augment").asText(), "the reference's RandAugment by default");
        assertEquals(2, report.get("test_top1_per_epoch").size(), "one test evaluation per epoch");
        assertEquals(16, report.get("test_images").asInt());
        assertEquals(
                8, Files.readAllLines(out.resolve("metrics.jsonl")).size(), "2 epochs of 32 images in batches of 8");
        double top1 = report.get("test_top1").asDouble();
        assertTrue(top1 >= 0 && top1 <= 1, "accuracy " + top1);
        try (Classifier c = Classifier.load(out.resolve("classifier.safetensors"), Device.cpu())) {
            assertEquals(10, c.numClasses());
            assertArrayEquals(new float[] {0.25f}, c.preprocessing().mean(), "the weights' normalisation, recorded");
            assertArrayEquals(new float[] {0.5f}, c.preprocessing().std());
        }
        assertTrue(Files.size(out.resolve("loss.png")) > 0);

        Path scratch = dir.resolve("scratch");
        assertEquals(
                0,
                run(
                        new StringWriter(),
                        "finetune",
                        "--weights",
                        weights.toString(),
                        "--from-scratch",
                        "--data",
                        dir.toString(),
                        "--out",
                        scratch.toString(),
                        "--batch",
                        "8",
                        "--epochs",
                        "0.5",
                        "--reprob",
                        "0",
                        "--aa",
                        "none",
                        "--mixup",
                        "0.8",
                        "--cutmix",
                        "1.0"));
        JsonNode scratchReport = JSON.readTree(scratch.resolve("report.json").toFile());
        assertEquals("scratch", scratchReport.get("init").asText());
        assertEquals(0, scratchReport.get("reprob").asDouble());
        assertFalse(
                scratchReport.get("augment").asText().contains("Erasing"),
                scratchReport.get("augment").asText());
        assertFalse(
                scratchReport.get("augment").asText().contains("RandAugment"),
                scratchReport.get("augment").asText());
        assertEquals("none", scratchReport.get("auto_augment").asText());
        assertEquals(0.8, scratchReport.get("mixup").asDouble());
        assertEquals(1.0, scratchReport.get("cutmix").asDouble());
        assertEquals(0, report.get("mixup").asDouble(), "no Mixup by default, as main_finetune.py");
    }

    @Test
    void fineTunesOnLabelledFoldersAndShards() throws IOException {
        Path train = dir.resolve("train"), test = dir.resolve("test");
        for (Path root : List.of(train, test))
            for (int i = 0; i < 8; i++) {
                java.awt.image.BufferedImage img =
                        new java.awt.image.BufferedImage(10, 12, java.awt.image.BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < 12; y++)
                    for (int x = 0; x < 10; x++) img.setRGB(x, y, (i % 2 == 0 ? 0x202020 : 0xe0e0e0) + x * 3 + y);
                Path f = root.resolve(i % 2 == 0 ? "dark" : "light").resolve(i + ".png");
                Files.createDirectories(f.getParent());
                javax.imageio.ImageIO.write(img, "png", f.toFile());
            }
        Path weights = dir.resolve("rgb16.safetensors");
        try (Model m = Model.create(
                MaeConfig.tiny().toBuilder().imgSize(16).patchSize(4).inChans(3).build(), Device.cpu(), 1)) {
            m.save(weights);
        }
        Path out = dir.resolve("folders");
        StringWriter err = new StringWriter();
        assertEquals(
                0,
                run(
                        err,
                        "finetune",
                        "--weights",
                        weights.toString(),
                        "--images",
                        train.toString(),
                        "--test-images",
                        test.toString(),
                        "--out",
                        out.toString(),
                        "--batch",
                        "4",
                        "--epochs",
                        "1"),
                err.toString());
        JsonNode report = JSON.readTree(out.resolve("report.json").toFile());
        assertEquals(2, report.get("classes").asInt());
        assertEquals(8, report.get("test_images").asInt());

        Path probe = dir.resolve("probe.json");
        assertEquals(
                0,
                run(
                        new StringWriter(),
                        "linprobe",
                        "--weights",
                        weights.toString(),
                        "--images",
                        train.toString(),
                        "--test-images",
                        test.toString(),
                        "--probe-epochs",
                        "2",
                        "--knn-k",
                        "3",
                        "--out",
                        probe.toString()));
        JsonNode probed = JSON.readTree(probe.toFile());
        assertEquals(8, probed.get("probe_train_images").asInt());
        assertTrue(probed.get("knn_top1").asDouble() >= 0);

        Path trainShard = dir.resolve("train.maeshard"), testShard = dir.resolve("test.maeshard");
        for (Path[] p : new Path[][] {{train, trainShard}, {test, testShard}})
            assertEquals(
                    0,
                    run(
                            new StringWriter(),
                            "pack",
                            "--images",
                            p[0].toString(),
                            "--out",
                            p[1].toString(),
                            "--img-size",
                            "16",
                            "--in-chans",
                            "3"));
        Path fromShards = dir.resolve("shards");
        assertEquals(
                0,
                run(
                        new StringWriter(),
                        "finetune",
                        "--weights",
                        weights.toString(),
                        "--shard",
                        trainShard.toString(),
                        "--test-shard",
                        testShard.toString(),
                        "--out",
                        fromShards.toString(),
                        "--batch",
                        "4",
                        "--epochs",
                        "1"));
        assertEquals(
                2,
                JSON.readTree(fromShards.resolve("report.json").toFile())
                        .get("classes")
                        .asInt());
    }

    @Test
    void fineTunesDataParallelOverTwoWorkerProcesses() throws IOException {
        PretrainCommandTest.writeImages(dir, 32);
        Path weights = pretrainedWeights();
        Path out = dir.resolve("ft2");
        int port = FreePort.find();
        StringWriter err = new StringWriter();
        assertEquals(
                0,
                run(
                        err,
                        "finetune",
                        "--weights",
                        weights.toString(),
                        "--data",
                        dir.toString(),
                        "--out",
                        out.toString(),
                        "--batch",
                        "4",
                        "--epochs",
                        "1",
                        "--log-every",
                        "1",
                        "--nproc-per-node",
                        "2",
                        "--master-port",
                        Integer.toString(port),
                        "--dist-timeout",
                        "60"),
                err.toString());
        JsonNode report = JSON.readTree(out.resolve("report.json").toFile());
        assertEquals(2, report.get("ranks").asInt());
        assertEquals(8, report.get("batch").asInt(), "4 images on each of 2 ranks");
        assertEquals(4, report.get("updates").asInt(), "each rank's 16 of 32 images in batches of 4");
        double top1 = report.get("test_top1").asDouble();
        assertTrue(top1 >= 0 && top1 <= 1, "accuracy " + top1);
        assertTrue(Files.readString(out.resolve("logs").resolve("rank-1.log")).contains("rank 1 of 2"));
    }

    @Test
    void anInterruptedFineTuneResumedGivesTheSameLossesAndAccuracies() throws IOException {
        PretrainCommandTest.writeImages(dir, 32);
        Path weights = pretrainedWeights();
        Path straight = dir.resolve("straight"), broken = dir.resolve("broken");
        // 2 epochs of 4 updates; Mixup/CutMix and erasing on, so every random stream must continue where it stopped
        String[] common = {
            "finetune",
            "--weights",
            weights.toString(),
            "--data",
            dir.toString(),
            "--batch",
            "8",
            "--epochs",
            "2",
            "--log-every",
            "1",
            "--mixup",
            "0.8",
            "--cutmix",
            "1.0",
            "--reprob",
            "0.5"
        };
        assertEquals(0, run(new StringWriter(), concat(common, "--out", straight.toString())));
        assertEquals(
                3,
                run(
                        new StringWriter(),
                        concat(
                                common,
                                "--out",
                                broken.toString(),
                                "--checkpoint-every",
                                "3",
                                "--interrupt-after",
                                "5")));
        assertEquals(
                5, Files.readAllLines(broken.resolve("metrics.jsonl")).size(), "updates 1..5 logged, 3 checkpointed");
        // the run so far "took" a million seconds: the resumed report counts on from there
        Path checkpoint = broken.resolve("checkpoint.safetensors");
        assertTrue(Double.parseDouble(SafetensorsHeader.metadata(checkpoint, "progress.elapsed_s")) > 0);
        SafetensorsHeader.setMetadata(checkpoint, "progress.elapsed_s", "1000000");
        StringWriter err = new StringWriter();
        long resumed = System.nanoTime();
        assertEquals(0, run(err, concat(common, "--out", broken.toString(), "--resume")), err.toString());
        double resumedSeconds = (System.nanoTime() - resumed) / 1e9;
        List<String> a = Files.readAllLines(straight.resolve("metrics.jsonl")),
                b = Files.readAllLines(broken.resolve("metrics.jsonl"));
        assertEquals(8, b.size());
        for (int i = 0; i < 8; i++) {
            JsonNode x = JSON.readTree(a.get(i)), y = JSON.readTree(b.get(i));
            assertEquals(x.get("loss").asDouble(), y.get("loss").asDouble(), 0.0, "loss of update " + (i + 1));
            assertEquals(x.get("lr").asDouble(), y.get("lr").asDouble(), 0.0);
        }
        JsonNode ra = JSON.readTree(straight.resolve("report.json").toFile()),
                rb = JSON.readTree(broken.resolve("report.json").toFile());
        assertEquals(
                ra.get("test_top1_per_epoch"),
                rb.get("test_top1_per_epoch"),
                "both epochs' evaluations, one from before the stop");
        double duration = rb.get("duration_s").asDouble();
        assertTrue(duration >= 1e6 && duration <= 1e6 + resumedSeconds, "duration_s " + duration);
        err = new StringWriter();
        assertEquals(2, run(err, concat(common, "--out", broken.toString(), "--resume", "--layer-decay", "0.5")));
        assertTrue(err.toString().contains("the checkpoint was written with layer_decay = 0.75"), err.toString());
        // partial fine-tuning is part of what a resume must share: the checkpoint refuses another block count
        err = new StringWriter();
        assertEquals(1, run(err, concat(common, "--out", broken.toString(), "--resume", "--trainable-blocks", "1")));
        assertTrue(err.toString().contains("training 4 blocks; this one trains 1"), err.toString());
        assertEquals(
                2,
                run(
                        err = new StringWriter(),
                        concat(common, "--out", dir.resolve("k9").toString(), "--trainable-blocks", "9")));
        assertTrue(err.toString().contains("--trainable-blocks must be in [0, "), err.toString());
    }

    @Test
    void noTrainableBlocksIsTheLinearProbeWithThePapersHead() throws IOException {
        PretrainCommandTest.writeImages(dir, 32);
        Path out = dir.resolve("k0"), weights = pretrainedWeights();
        StringWriter err = new StringWriter();
        int code = run(
                err,
                "finetune",
                "--weights",
                weights.toString(),
                "--data",
                dir.toString(),
                "--batch",
                "8",
                "--epochs",
                "1",
                "--trainable-blocks",
                "0",
                "--out",
                out.toString());
        assertEquals(0, code, err.toString());
        assertEquals(
                0,
                JSON.readTree(out.resolve("report.json").toFile())
                        .get("trainable_blocks")
                        .asInt());
        try (Classifier c = Classifier.load(out.resolve("classifier.safetensors"), Device.cpu());
                Model pretrained = Model.load(weights, Device.cpu())) {
            assertTrue(c.hasProbeHead(), "the written classifier keeps its BatchNorm head");
            for (String name : List.of("patch_embed.proj.weight", "blocks.3.mlp.fc2.weight", "blocks.3.norm2.bias"))
                try (var a = c.parameter(name);
                        var b = pretrained.parameter(name)) {
                    assertArrayEquals(b.toFloatArray(), a.toFloatArray(), name + " stays the pretrained one");
                }
        }
    }

    /** A freshly initialised MAE of the default config, saved as a pretrained one would be. */
    private Path pretrainedWeights() throws IOException {
        Path weights = dir.resolve("mae.safetensors");
        try (Model m = Model.create(MaeConfig.fashionMnistSmall(), Device.cpu(), 1)) {
            m.save(weights);
        }
        return weights;
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    @Test
    void badArgumentsSayWhatToFix() {
        StringWriter err = new StringWriter();
        assertEquals(2, run(err, "finetune", "--images", dir.toString()));
        assertTrue(err.toString().contains("--images and --test-images go together"), err.toString());
        err = new StringWriter();
        assertEquals(2, run(err, "finetune", "--layer-decay", "0"));
        assertTrue(err.toString().contains("--layer-decay must be in (0, 1]"), err.toString());
        err = new StringWriter();
        assertEquals(2, run(err, "finetune", "--epochs", "-1"));
        assertTrue(err.toString().contains("--epochs must be positive"), err.toString());
        err = new StringWriter();
        assertEquals(2, run(err, "finetune", "--reprob", "1.5"));
        assertTrue(err.toString().contains("--reprob must be in [0, 1]"), err.toString());
        err = new StringWriter();
        assertEquals(2, run(err, "finetune", "--cutmix", "-1"));
        assertTrue(err.toString().contains("--cutmix must be a finite alpha >= 0"), err.toString());
        err = new StringWriter();
        assertEquals(2, run(err, "finetune", "--aa", "rand-m9-q2"));
        assertTrue(err.toString().contains("--aa: unknown RandAugment section 'q2'"), err.toString());
    }
}
