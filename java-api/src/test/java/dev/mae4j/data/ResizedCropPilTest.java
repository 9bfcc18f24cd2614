package dev.mae4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mae4j.DType;
import dev.mae4j.Pixels;
import dev.mae4j.Tensor;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pixels.resizedCrop and ImageFolder's evaluation transform against torchvision and PIL themselves:
 * pil/resized-crop.json holds small grey and RGB images put through F.resized_crop (bicubic) and through
 * Resize(int(size / 0.875)) + CenterCrop(size) by torchvision 0.14 on PIL 9.4
 * (src/test/python/make_pil_resize_fixtures.py); every pixel must come out the same.
 */
class ResizedCropPilTest {
    private static JsonNode fixture;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() throws IOException {
        try (InputStream in = ResizedCropPilTest.class.getResourceAsStream("/pil/resized-crop.json")) {
            fixture = new ObjectMapper().readTree(in);
        }
    }

    private static int channels(JsonNode image) {
        return image.get("mode").asText().length();
    }

    private static byte[] planar(JsonNode pixels) {
        byte[] b = new byte[pixels.size()];
        for (int i = 0; i < b.length; i++) b[i] = (byte) pixels.get(i).asInt();
        return b;
    }

    // The fixture's planar [C, H, W] pixels as a decoder gives them: U8 [H, W, C], interleaved.
    private static Tensor interleaved(JsonNode image) {
        int c = channels(image),
                h = image.get("height").asInt(),
                w = image.get("width").asInt();
        byte[] planes = planar(image.get("pixels")), px = new byte[planes.length];
        for (int k = 0; k < c; k++) for (int i = 0; i < h * w; i++) px[i * c + k] = planes[k * h * w + i];
        Tensor t = Tensor.zeros(DType.U8, h, w, c);
        MemorySegment.copy(px, 0, t.segment(), ValueLayout.JAVA_BYTE, 0, px.length);
        return t;
    }

    private static byte[] mirrored(byte[] planes, int rows, int w) {
        byte[] m = new byte[planes.length];
        for (int r = 0; r < rows; r++) for (int x = 0; x < w; x++) m[r * w + x] = planes[r * w + w - 1 - x];
        return m;
    }

    @Test
    void cropsAndResizesGiveTorchvisionsPixels() {
        JsonNode images = fixture.get("images");
        int checked = 0;
        for (JsonNode cs : fixture.get("cases")) {
            JsonNode image = images.get(cs.get("image").asInt());
            int[] crop = new int[4];
            for (int k = 0; k < 4; k++) crop[k] = cs.get("crop").get(k).asInt();
            int h = cs.get("height").asInt(), w = cs.get("width").asInt();
            byte[] expected = planar(cs.get("output"));
            String what = "image " + cs.get("image") + ", crop " + cs.get("crop") + " to " + h + " × " + w;
            try (Tensor in = interleaved(image);
                    Tensor out = Pixels.resizedCrop(in, crop, h, w, false);
                    Tensor flipped = Pixels.resizedCrop(in, crop, h, w, true)) {
                assertArrayEquals(new long[] {channels(image), h, w}, out.shape(), what);
                assertArrayEquals(expected, out.segment().toArray(ValueLayout.JAVA_BYTE), what);
                // RandomHorizontalFlip after the crop: each row mirrored
                assertArrayEquals(
                        mirrored(expected, channels(image) * h, w),
                        flipped.segment().toArray(ValueLayout.JAVA_BYTE),
                        what);
            }
            checked++;
        }
        assertEquals(60, checked);
    }

    @Test
    void theEvaluationTransformGivesTorchvisionsPixels() throws IOException {
        JsonNode images = fixture.get("images");
        for (int i = 0; i < images.size(); i++) {
            // each fixture image as a PNG file (lossless: grey ones as grey PNGs), read the way ImageFolder reads files
            JsonNode image = images.get(i);
            int c = channels(image),
                    h = image.get("height").asInt(),
                    w = image.get("width").asInt();
            byte[] planes = planar(image.get("pixels"));
            BufferedImage img =
                    new BufferedImage(w, h, c == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_3BYTE_BGR);
            for (int k = 0; k < c; k++)
                for (int p = 0; p < h * w; p++)
                    img.getRaster().setSample(p % w, p / w, k, planes[k * h * w + p] & 0xff);
            Path file = dir.resolve("image" + i + ".png");
            ImageIO.write(img, "png", file.toFile());
            for (JsonNode ev : fixture.get("evaluations")) {
                if (ev.get("image").asInt() != i) continue;
                int size = ev.get("size").asInt();
                assertArrayEquals(
                        planar(ev.get("output")),
                        ImageFolder.evaluationPixels(file, size, c),
                        "image " + i + " at " + size);
            }
        }
    }

    @Test
    void jpegsDecodeToPilsPixels() throws IOException {
        int i = 0;
        for (JsonNode jpeg : fixture.get("jpegs")) {
            byte[] file = Base64.getDecoder().decode(jpeg.get("jpeg").asText());
            int c = channels(jpeg),
                    h = jpeg.get("height").asInt(),
                    w = jpeg.get("width").asInt();
            byte[] expected = planar(jpeg.get("pixels"));
            Path p = dir.resolve("decoded" + i++ + ".jpg");
            Files.write(p, file);
            try (ImageFolder.Decoded d = ImageFolder.read(p, c);
                    Tensor planes = toPlanar(d.image())) {
                byte[] got = d.planes(planes);
                // libmae's libjpeg where it has one, else ImageIO's: both decode as PIL does (islow IDCT, fancy
                // upsampling)
                assertArrayEquals(expected, got, p + " (" + jpeg.get("mode").asText() + ")");
                assertArrayEquals(new long[] {h, w, c}, d.image().shape());
            }
        }
        assertEquals(4, i);
        dev.mae4j.TestData.assumeBuilt(
                Pixels.jpegAvailable(), "libmae was built without libjpeg (apt install libjpeg-dev)");
        {
            byte[] whole = Base64.getDecoder()
                    .decode(fixture.get("jpegs").get(0).get("jpeg").asText());
            IllegalArgumentException cut = assertThrows(
                    IllegalArgumentException.class,
                    () -> Pixels.decodeJpeg(Arrays.copyOf(whole, whole.length - 10))); // cut in the scan
            assertTrue(cut.getMessage().contains("truncated"), cut.getMessage());
            IllegalArgumentException noise = assertThrows(
                    IllegalArgumentException.class,
                    () -> Pixels.decodeJpeg(new byte[] {(byte) 0xff, (byte) 0xd8, 1, 2, 3, 4, 5}));
            assertTrue(noise.getMessage().startsWith("not a readable JPEG"), noise.getMessage());
            // a few bytes claiming 60000 × 60000 pixels (the frame header's height and width patched)
            byte[] bomb = whole.clone();
            int sof = 2;
            while (!((bomb[sof] & 0xff) == 0xff && (bomb[sof + 1] & 0xff) == 0xc0)) sof++;
            bomb[sof + 5] = bomb[sof + 7] = (byte) 0xea;
            bomb[sof + 6] = bomb[sof + 8] = (byte) 0x60;
            IllegalArgumentException big = assertThrows(IllegalArgumentException.class, () -> Pixels.decodeJpeg(bomb));
            assertTrue(
                    big.getMessage().contains("60000 × 60000 image is over PIL's decompression-bomb limit"),
                    big.getMessage());
        }
    }

    // U8 [H, W, C] interleaved -> [C, H, W] planar, by a plain resize to the same size (PIL copies: no resampling).
    private static Tensor toPlanar(Tensor image) {
        long[] s = image.shape();
        return Pixels.resizedCrop(image, new int[] {0, 0, (int) s[0], (int) s[1]}, (int) s[0], (int) s[1], false);
    }

    @Test
    void badCropsAreClearErrors() {
        try (Tensor image = Tensor.zeros(DType.U8, 6, 5, 3);
                Tensor floats = Tensor.zeros(DType.F32, 6, 5, 3)) {
            IllegalArgumentException outside = assertThrows(
                    IllegalArgumentException.class,
                    () -> Pixels.resizedCrop(image, new int[] {2, 0, 5, 5}, 4, 4, false));
            assertTrue(
                    outside.getMessage().contains("must be a non-empty region of the 6 × 5 image"),
                    outside.getMessage());
            assertThrows(
                    IllegalArgumentException.class,
                    () -> Pixels.resizedCrop(image, new int[] {0, 0, 0, 5}, 4, 4, false));
            IllegalArgumentException size = assertThrows(
                    IllegalArgumentException.class,
                    () -> Pixels.resizedCrop(image, new int[] {0, 0, 6, 5}, 0, 4, false));
            assertTrue(size.getMessage().contains("output size"), size.getMessage());
            IllegalArgumentException dtype = assertThrows(
                    IllegalArgumentException.class,
                    () -> Pixels.resizedCrop(floats, new int[] {0, 0, 6, 5}, 4, 4, false));
            assertTrue(dtype.getMessage().contains("U8 [H, W, C]"), dtype.getMessage());
            assertThrows(
                    IllegalArgumentException.class, () -> Pixels.resizedCrop(image, new int[] {0, 0, 6}, 4, 4, false));
        }
    }
}
