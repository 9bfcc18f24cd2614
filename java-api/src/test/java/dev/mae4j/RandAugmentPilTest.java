package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mae4j.data.RandAugment;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * RandAugment.apply (Augment.randAugment) against PIL itself: pil/rand-augment.json holds small grey and RGB images put through each of
 * timm's RandAugment operations (and pairs of them) by PIL 9.4 (src/test/python/make_pil_fixtures.py); every pixel
 * must come out the same.
 */
class RandAugmentPilTest {
    private static final double STD = 0.25;

    @Test
    void everyOperationGivesPilsPixels() throws IOException {
        JsonNode fixture;
        try (InputStream in = RandAugmentPilTest.class.getResourceAsStream("/pil/rand-augment.json")) {
            fixture = new ObjectMapper().readTree(in);
        }
        JsonNode images = fixture.get("images");
        int checked = 0;
        for (int i = 0; i < images.size(); i++) {
            JsonNode image = images.get(i);
            int c = image.get("mode").asText().length(),
                    h = image.get("height").asInt(),
                    w = image.get("width").asInt();
            double[] mean = new double[c], std = new double[c];
            for (int k = 0; k < c; k++) {
                mean[k] = (c == 1 ? image.get("fill") : image.get("fill").get(k)).asInt()
                        / 255.0; // round(255 · mean) = fill
                std[k] = STD;
            }
            List<JsonNode> cases = new ArrayList<>();
            for (JsonNode cs : fixture.get("cases")) if (cs.get("image").asInt() == i) cases.add(cs);
            // one batch: every case's copy of the image with its own steps
            int n = cases.size(), size = c * h * w;
            float[] batch = new float[n * size];
            List<List<RandAugment.Step>> steps = new ArrayList<>();
            for (int j = 0; j < n; j++) {
                for (int p = 0; p < size; p++)
                    batch[j * size + p] =
                            (float) ((image.get("pixels").get(p).asInt() / 255.0 - mean[p / (h * w)]) / STD);
                List<RandAugment.Step> chain = new ArrayList<>();
                for (JsonNode op : cases.get(j).get("ops"))
                    chain.add(new RandAugment.Step(
                            RandAugment.Op.ofTimmName(op.get(0).asText()),
                            op.get(1).asDouble()));
                steps.add(chain);
            }
            try (Tensor in = Tensor.fromFloats(batch, n, c, h, w);
                    Tensor out = RandAugment.apply(in, steps, mean, std)) {
                float[] o = out.toFloatArray();
                for (int j = 0; j < n; j++) {
                    JsonNode expected = cases.get(j).get("output");
                    for (int p = 0; p < size; p++) {
                        long pixel = Math.round((o[j * size + p] * STD + mean[p / (h * w)]) * 255);
                        int want = expected.get(p).asInt();
                        if (pixel != want)
                            throw new AssertionError(image.get("mode").asText() + " image " + i + ", "
                                    + cases.get(j).get("ops")
                                    + ": pixel " + p + " (band " + p / (h * w) + ", y " + p % (h * w) / w + ", x "
                                    + p % w
                                    + ") is " + pixel + ", PIL's " + want);
                    }
                    checked++;
                }
            }
        }
        assertEquals(fixture.get("cases").size(), checked);
        assertTrue(checked > 200, "cases " + checked);
    }

    @Test
    void badBatchesAreRefusedByName() {
        float[] withNan = new float[16];
        withNan[5] = Float.NaN;
        try (Tensor two = Tensor.fromFloats(new float[2 * 16], 1, 2, 4, 4);
                Tensor one = Tensor.fromFloats(new float[16], 1, 1, 4, 4);
                Tensor nan = Tensor.fromFloats(withNan, 1, 1, 4, 4)) {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class,
                    () -> RandAugment.apply(two, List.of(List.of()), new double[] {0, 0}, new double[] {1, 1}));
            assertTrue(e.getMessage().contains("grey (1) or RGB (3)"), e.getMessage());
            assertTrue(assertThrows(
                            IllegalArgumentException.class,
                            () -> RandAugment.apply(
                                    one,
                                    List.of(List.of(new RandAugment.Step(RandAugment.Op.CONTRAST, 1e300))),
                                    new double[] {0},
                                    new double[] {1}))
                    .getMessage()
                    .contains("below 1e6"));
            assertTrue(assertThrows(
                            IllegalArgumentException.class,
                            () -> RandAugment.apply(nan, List.of(List.of()), new double[] {0}, new double[] {1}))
                    .getMessage()
                    .contains("images must be finite"));
            assertThrows(
                    IllegalArgumentException.class,
                    () -> RandAugment.apply(two, List.of(), new double[] {0, 0}, new double[] {1, 1}),
                    "one list of steps per image");
            assertThrows(
                    IllegalArgumentException.class,
                    () -> RandAugment.apply(two, List.of(List.of()), new double[] {0}, new double[] {1}),
                    "one mean per channel");
        }
    }
}
