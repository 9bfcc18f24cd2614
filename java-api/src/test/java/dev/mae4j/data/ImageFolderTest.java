package dev.mae4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mae4j.Tensor;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderTest {
    @TempDir
    Path dir;

    private static void solid(Path file, Color color, int w, int h, String format) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        var g = img.createGraphics();
        g.setColor(color);
        g.fillRect(0, 0, w, h);
        g.dispose();
        Files.createDirectories(file.getParent());
        ImageIO.write(img, format, file.toFile());
    }

    @Test
    void classesAreSubFoldersAndBadFilesAreSkippedAndCounted() throws IOException {
        solid(dir.resolve("cats/a.png"), Color.RED, 6, 4, "png");
        solid(dir.resolve("cats/deeper/b.jpg"), Color.GREEN, 5, 5, "jpg");
        solid(dir.resolve("dogs/c.png"), Color.BLUE, 3, 7, "png");
        solid(dir.resolve("loose.png"), Color.WHITE, 2, 2, "png");
        Files.write(dir.resolve("dogs/broken.png"), new byte[] {1, 2, 3, 4});
        Files.writeString(dir.resolve("notes.txt"), "not an image");
        ImageFolder f = new ImageFolder(dir, 4, 3, new float[] {0, 0, 0}, new float[] {1, 1, 1});
        assertEquals(List.of("cats", "dogs"), f.classes());
        assertEquals(4, f.size());
        assertEquals(1, f.skipped(), "broken.png");
        assertEquals(List.of(0, 0, 1, -1), List.of(f.label(0), f.label(1), f.label(2), f.label(3)));
        float[] px = new float[3 * 16];
        f.copyNormalised(0, px, 0); // red, resized to 4 × 4, channel planes R, G, B
        assertArrayEquals(filled(16, 1f), Arrays.copyOfRange(px, 0, 16), 1e-6f);
        assertArrayEquals(filled(32, 0f), Arrays.copyOfRange(px, 16, 48), 1e-6f);
        f.copyNormalised(2, px, 0); // blue
        assertArrayEquals(filled(16, 1f), Arrays.copyOfRange(px, 32, 48), 1e-6f);
    }

    @Test
    void greyNormalisationAndADecodeFailureNamesTheFile() throws IOException {
        solid(dir.resolve("x/white.png"), Color.WHITE, 8, 8, "png");
        ImageFolder grey = new ImageFolder(dir, 2, 1, new float[] {0.5f}, new float[] {0.25f});
        float[] px = new float[4];
        grey.copyNormalised(0, px, 0);
        assertArrayEquals(filled(4, 2f), px, 1e-6f); // (1 − 0.5) / 0.25

        // a PNG cut after its header: the scan accepts it, decoding fails with the file's name
        byte[] whole = Files.readAllBytes(dir.resolve("x/white.png"));
        Files.write(dir.resolve("x/cut.png"), Arrays.copyOf(whole, 33));
        ImageFolder f = new ImageFolder(dir, 2, 1, new float[] {0}, new float[] {1});
        assertEquals(2, f.size());
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> f.copyNormalised(0, px, 0));
        assertTrue(e.getMessage().contains("cut.png"), e.getMessage());
    }

    @Test
    void emptyOrMissingFoldersAreClearErrors() throws IOException {
        assertThrows(
                IOException.class,
                () -> new ImageFolder(dir.resolve("absent"), 4, 3, new float[3], new float[] {1, 1, 1}));
        Files.writeString(dir.resolve("a.png"), "text");
        IOException e =
                assertThrows(IOException.class, () -> new ImageFolder(dir, 4, 1, new float[1], new float[] {1}));
        assertTrue(e.getMessage().contains("no readable") && e.getMessage().contains("1 skipped"), e.getMessage());
    }

    @Test
    void trainingCropsAreTakenFromTheFileAtFullResolution() throws IOException {
        // 40 × 24 pixels, each telling where it is: R = 6x, G = 10y, B = 77
        BufferedImage img = new BufferedImage(40, 24, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 24; y++)
            for (int x = 0; x < 40; x++) img.setRGB(x, y, new Color(6 * x, 10 * y, 77).getRGB());
        Files.createDirectories(dir.resolve("a"));
        ImageIO.write(img, "png", dir.resolve("a/ramp.png").toFile());
        ImageFolder f = new ImageFolder(dir, 8, 3, new float[] {0, 0, 0}, new float[] {1, 1, 1});
        assertEquals(24, f.fileHeight(0));
        assertEquals(40, f.fileWidth(0));
        // an 8 × 8 box at (top 4, left 30) of the file, at its own size: exactly those pixels; then mirrored
        try (Tensor crops = f.resizedCrops(new int[] {0, 0}, new double[] {4, 30, 8, 8, 0, 4, 30, 8, 8, 1})) {
            float[] px = crops.toFloatArray();
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++) {
                    assertEquals(6 * (30 + x) / 255f, px[y * 8 + x], 1e-6f, "R at " + x + ", " + y);
                    assertEquals(10 * (4 + y) / 255f, px[64 + y * 8 + x], 1e-6f, "G at " + x + ", " + y);
                    assertEquals(77 / 255f, px[128 + y * 8 + x], 1e-6f);
                    assertEquals(6 * (30 + 7 - x) / 255f, px[192 + y * 8 + x], 1e-6f, "flipped R at " + x + ", " + y);
                }
        }
        // RandomResizedCrop draws its boxes in the file's 40 × 24 pixels, not in the 8 × 8 the folder is read at
        RandomResizedCrop whole = new RandomResizedCrop(1, 1, 40.0 / 24, 40.0 / 24, 0);
        try (Tensor crop = whole.apply(f, new int[] {0}, 8, new Random(1));
                Tensor eval = f.batch(new int[] {0})) {
            float[] px = crop.toFloatArray();
            assertTrue(
                    px[7] > 0.8f && px[0] < 0.1f,
                    "the whole file's width squeezed into 8 columns: " + px[0] + " .. " + px[7]);
            // evaluation: resized to 15 × 9, columns 4..11 kept: R ≈ 6 · 11.5 and 6 · 30.2 (of 255)
            float[] centre = eval.toFloatArray();
            assertTrue(
                    centre[0] > 0.2f && centre[0] < 0.34f && centre[7] > 0.65f && centre[7] < 0.77f,
                    "the evaluation transform keeps the centre only: " + centre[0] + " .. " + centre[7]);
        }
        assertThrows(IllegalArgumentException.class, () -> whole.apply(f, new int[] {0}, 16, new Random(1)));
        // a box outside the file (as when it shrank after the scan) names the file
        IllegalArgumentException outside = assertThrows(
                IllegalArgumentException.class, () -> f.resizedCrops(new int[] {0}, new double[] {20, 0, 8, 8, 0}));
        assertTrue(
                outside.getMessage().contains("ramp.png")
                        && outside.getMessage().contains("24 × 40 image"),
                outside.getMessage());
    }

    @Test
    void colourFilesReadAsGreyTakePilsLuma() throws IOException {
        solid(dir.resolve("x/orange.png"), new Color(200, 100, 50), 6, 6, "png");
        ImageFolder grey = new ImageFolder(dir, 4, 1, new float[] {0}, new float[] {1});
        float[] px = new float[16];
        grey.copyNormalised(0, px, 0);
        // PIL's convert("L"): 0.299 · 200 + 0.587 · 100 + 0.114 · 50 = 124.2 -> 124
        assertArrayEquals(filled(16, 124 / 255f), px, 1e-6f);
    }

    @Test
    void transparencyIsDroppedAsPilsConvertRgbDoes() throws IOException {
        // nearly transparent orange: convert("RGB") keeps the colour and drops alpha (no blending onto black)
        BufferedImage img = new BufferedImage(5, 5, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < 5; y++) for (int x = 0; x < 5; x++) img.setRGB(x, y, new Color(200, 100, 50, 10).getRGB());
        Files.createDirectories(dir.resolve("x"));
        ImageIO.write(img, "png", dir.resolve("x/faint.png").toFile());
        ImageFolder f = new ImageFolder(dir, 4, 3, new float[] {0, 0, 0}, new float[] {1, 1, 1});
        float[] px = new float[48];
        f.copyNormalised(0, px, 0);
        assertArrayEquals(filled(16, 200 / 255f), Arrays.copyOfRange(px, 0, 16), 1e-6f);
        assertArrayEquals(filled(16, 100 / 255f), Arrays.copyOfRange(px, 16, 32), 1e-6f);
        assertArrayEquals(filled(16, 50 / 255f), Arrays.copyOfRange(px, 32, 48), 1e-6f);
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }
}
