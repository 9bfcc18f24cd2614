package dev.mae4j.cli;

import static dev.mae4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mae4j.Device;
import dev.mae4j.FreePort;
import dev.mae4j.MaeConfig;
import dev.mae4j.Model;
import dev.mae4j.Tensor;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The recipes' numbers reach the optimiser, read back from what one update did. AdamW's first update moves every
 * element with a gradient by lr · g / (|g| + eps), so a zero-initialised bias without weight decay ends at almost
 * exactly ±lr: its largest magnitude is the learning rate the update ran at. And its moments after one update are
 * m = (1 − β1) g and v = (1 − β2) g², so v / m² = (1 − β2) / (1 − β1)²: 5 for pretraining's (0.9, 0.95), 0.1 for
 * fine-tuning's (0.9, 0.999).
 */
class RecipeWiringTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void pretrainingScalesTheLrByTheEffectiveBatchWithAccumulation() throws IOException {
        PretrainCommandTest.writeImages(dir, 32);
        Path out = dir.resolve("run");
        StringWriter err = new StringWriter();
        assertEquals(
                0,
                run(
                        err,
                        "pretrain",
                        "--data",
                        dir.toString(),
                        "--out",
                        out.toString(),
                        "--batch",
                        "4",
                        "--accum-iter",
                        "2",
                        "--steps",
                        "1",
                        "--warmup-steps",
                        "0",
                        "--base-lr",
                        "1e-3",
                        "--no-eval"),
                err.toString());
        assertOneUpdate(out, 1e-3 * 4 * 2 / 256, 5.0);
    }

    @Test
    void pretrainingScalesTheLrByEveryRanksImages() throws IOException {
        PretrainCommandTest.writeImages(dir, 32);
        Path out = dir.resolve("ddp");
        StringWriter err = new StringWriter();
        assertEquals(
                0,
                run(
                        err,
                        "pretrain",
                        "--data",
                        dir.toString(),
                        "--out",
                        out.toString(),
                        "--batch",
                        "4",
                        "--accum-iter",
                        "2",
                        "--steps",
                        "1",
                        "--warmup-steps",
                        "0",
                        "--base-lr",
                        "1e-3",
                        "--no-eval",
                        "--nproc-per-node",
                        "2",
                        "--master-port",
                        Integer.toString(FreePort.find()),
                        "--dist-timeout",
                        "60"),
                err.toString());
        assertOneUpdate(out, 1e-3 * 4 * 2 * 2 / 256, 5.0);
    }

    private static void assertOneUpdate(Path out, double lr, double momentRatio) throws IOException {
        // the model before its update: the same config and seed (0)
        try (Model before = Model.create(MaeConfig.fashionMnistSmall(), Device.cpu(), 0);
                Model after = Model.load(out.resolve("last.safetensors"), Device.cpu());
                Tensor b = before.parameter("norm.bias");
                Tensor a = after.parameter("norm.bias")) {
            float[] b0 = b.toFloatArray(), a1 = a.toFloatArray();
            double largest = 0;
            for (int i = 0; i < a1.length; i++) largest = Math.max(largest, Math.abs(a1[i] - b0[i]));
            assertEquals(lr, largest, lr * 1e-3, "norm.bias moved by the learning rate of the one update");
        }
        assertMomentRatio(out.resolve("checkpoint.safetensors"), "norm.bias", momentRatio);
    }

    @Test
    void fineTuningScalesTheLrByTheBatchAndUsesItsBetas() throws IOException {
        PretrainCommandTest.writeImages(dir, 32);
        Path weights = dir.resolve("mae.safetensors"), out = dir.resolve("ft");
        try (Model m = Model.create(MaeConfig.fashionMnistSmall(), Device.cpu(), 1)) {
            m.save(weights);
        }
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
                        "0.25",
                        "--warmup-epochs",
                        "0",
                        "--base-lr",
                        "1e-3"),
                err.toString());
        double lr = 1e-3 * 8 / 256;
        // the head's bias starts at zero (models_vit) and has no decay; its layer-decay scale is 1
        float[] bias = tensor(out.resolve("classifier.safetensors"), "head.bias");
        double largest = 0;
        for (float x : bias) largest = Math.max(largest, Math.abs(x));
        assertEquals(lr, largest, lr * 1e-3, "head.bias moved by the learning rate of the one update");
        assertMomentRatio(out.resolve("checkpoint.safetensors"), "head.bias", 0.1);
        JsonNode report = JSON.readTree(out.resolve("report.json").toFile());
        assertEquals(lr, report.get("peak_lr").asDouble(), lr * 1e-12);
    }

    /** v / m² of every element with a clear gradient is (1 − β2) / (1 − β1)² after one update. */
    private static void assertMomentRatio(Path checkpoint, String parameter, double expected) throws IOException {
        float[] m = tensor(checkpoint, "optimizer.exp_avg." + parameter),
                v = tensor(checkpoint, "optimizer.exp_avg_sq." + parameter);
        int checked = 0;
        for (int i = 0; i < m.length; i++) {
            if (Math.abs(m[i]) < 1e-6) continue; // float rounding would dominate
            assertEquals(expected, v[i] / ((double) m[i] * m[i]), expected * 1e-4, parameter + "[" + i + "]");
            checked++;
        }
        assertTrue(checked > m.length / 2, "only " + checked + " of " + m.length + " elements had a gradient");
        assertEquals(1.0, tensor(checkpoint, "optimizer.step")[0], 0.0, "AdamW applied one update");
    }

    /** An F32 or F64 tensor of a safetensors file, as floats. */
    static float[] tensor(Path file, String name) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        long headerLen =
                ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        JsonNode e = JSON.readTree(new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8))
                .get(name);
        assertTrue(e != null, file + " has no " + name);
        int begin = e.get("data_offsets").get(0).asInt(),
                end = e.get("data_offsets").get(1).asInt();
        ByteBuffer data = ByteBuffer.wrap(bytes, (int) (8 + headerLen + begin), end - begin)
                .order(ByteOrder.LITTLE_ENDIAN);
        boolean f64 = e.get("dtype").asText().equals("F64");
        float[] out = new float[(end - begin) / (f64 ? 8 : 4)];
        for (int i = 0; i < out.length; i++) out[i] = f64 ? (float) data.getDouble() : data.getFloat();
        return out;
    }
}
