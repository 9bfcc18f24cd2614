package dev.mae4j.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
        f.copyNormalised(0, px, 0);  // red, resized to 4 × 4, channel planes R, G, B
        assertArrayEquals(filled(16, 1f), Arrays.copyOfRange(px, 0, 16), 1e-6f);
        assertArrayEquals(filled(32, 0f), Arrays.copyOfRange(px, 16, 48), 1e-6f);
        f.copyNormalised(2, px, 0);  // blue
        assertArrayEquals(filled(16, 1f), Arrays.copyOfRange(px, 32, 48), 1e-6f);
    }

    @Test
    void greyNormalisationAndADecodeFailureNamesTheFile() throws IOException {
        solid(dir.resolve("x/white.png"), Color.WHITE, 8, 8, "png");
        ImageFolder grey = new ImageFolder(dir, 2, 1, new float[] {0.5f}, new float[] {0.25f});
        float[] px = new float[4];
        grey.copyNormalised(0, px, 0);
        assertArrayEquals(filled(4, 2f), px, 1e-6f);  // (1 − 0.5) / 0.25

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
        assertThrows(IOException.class, () -> new ImageFolder(dir.resolve("absent"), 4, 3, new float[3], new float[] {1, 1, 1}));
        Files.writeString(dir.resolve("a.png"), "text");
        IOException e = assertThrows(IOException.class, () -> new ImageFolder(dir, 4, 1, new float[1], new float[] {1}));
        assertTrue(e.getMessage().contains("no readable") && e.getMessage().contains("1 skipped"), e.getMessage());
    }

    private static float[] filled(int n, float v) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }
}
