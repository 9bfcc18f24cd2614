package dev.mae4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Decompression bombs are refused from their header, before any decoder allocates for the pixels they declare. */
class ImageHeaderTest {
    @TempDir
    Path dir;

    /** A valid-looking PNG that declares width × height RGB pixels but carries only a few compressed rows. */
    static byte[] pngBomb(int width, int height) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(out);
        d.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream h = new DataOutputStream(ihdr);
        h.writeInt(width);
        h.writeInt(height);
        h.write(new byte[] {8, 2, 0, 0, 0}); // 8-bit RGB, deflate, adaptive filter, no interlace
        chunk(d, "IHDR", ihdr.toByteArray());
        Deflater z = new Deflater();
        z.setInput(new byte[1 + 3 * Math.min(width, 1000)]); // one zero row: the rest is "to come"
        z.finish();
        byte[] buf = new byte[65536];
        chunk(d, "IDAT", java.util.Arrays.copyOf(buf, z.deflate(buf)));
        chunk(d, "IEND", new byte[0]);
        return out.toByteArray();
    }

    /** A JPEG whose frame header (SOF0) declares width × height, with nothing decodable after it. */
    static byte[] jpegBomb(int width, int height) {
        return new byte[] {
            (byte) 0xff,
            (byte) 0xd8,
            (byte) 0xff,
            (byte) 0xc0,
            0,
            17,
            8,
            (byte) (height >> 8),
            (byte) height,
            (byte) (width >> 8),
            (byte) width,
            3,
            1,
            0x22,
            0,
            2,
            0x11,
            1,
            3,
            0x11,
            1,
            (byte) 0xff,
            (byte) 0xd9
        };
    }

    private static void chunk(DataOutputStream d, String type, byte[] data) throws IOException {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        d.writeInt(data.length);
        d.write(t);
        d.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        d.writeInt((int) crc.getValue());
    }

    @Test
    void theDefaultBudgetIsPilsMaxImagePixels() {
        assertEquals(89_478_485L, ImageHeader.DEFAULT_MAX_PIXELS); // PIL: int(1024 * 1024 * 1024 // 4 // 3)
        assertEquals(89_478_485L, ImageHeader.initialBudget(null));
        assertEquals(1000L, ImageHeader.initialBudget(" 1000"));
        for (String bad : new String[] {"0", "-5", "lots"}) {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> ImageHeader.initialBudget(bad));
            assertTrue(e.getMessage().contains("-Dmae.maxImagePixels must be a positive integer"), e.getMessage());
        }
    }

    @Test
    void headersAreReadWithoutDecoding() throws IOException {
        assertEquals(new ImageHeader.Dimensions(20000, 20000), ImageHeader.read(pngBomb(20000, 20000)));
        assertEquals(new ImageHeader.Dimensions(30000, 20000), ImageHeader.read(jpegBomb(30000, 20000)));
        IOException e =
                assertThrows(IOException.class, () -> ImageHeader.read("GIF? no".getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains("not a JPEG or PNG image"), e.getMessage());
    }

    @Test
    void bombsOfEitherFormatAreRefusedByNameAndSize() throws IOException {
        for (var bomb : new Object[][] {{"bomb.png", pngBomb(20000, 20000)}, {"bomb.jpg", jpegBomb(20000, 20000)}}) {
            Path f = dir.resolve((String) bomb[0]);
            Files.write(f, (byte[]) bomb[1]);
            UncheckedIOException e =
                    assertThrows(UncheckedIOException.class, () -> ImageFolder.evaluationPixels(f, 28, 3));
            ImageTooLargeException cause = assertInstanceOf(ImageTooLargeException.class, e.getCause());
            assertTrue(cause.getMessage().contains(f.toString()), cause.getMessage());
            assertTrue(
                    cause.getMessage().contains("20000×20000 = 400000000 pixels, over the budget of 89478485"),
                    cause.getMessage());
            assertEquals(20000, cause.width());
        }
    }

    @Test
    void theBudgetIsConfigurableAndCountsWidthTimesHeight() throws IOException {
        Path f = dir.resolve("small.png");
        ImageIO.write(new BufferedImage(64, 48, BufferedImage.TYPE_INT_RGB), "png", f.toFile());
        long saved = ImageHeader.maxPixels();
        try {
            ImageHeader.setMaxPixels(64 * 48 - 1);
            UncheckedIOException e =
                    assertThrows(UncheckedIOException.class, () -> ImageFolder.evaluationPixels(f, 28, 1));
            assertInstanceOf(ImageTooLargeException.class, e.getCause());
            ImageHeader.setMaxPixels(64 * 48);
            assertEquals(28 * 28, ImageFolder.evaluationPixels(f, 28, 1).length, "at the budget it decodes");
            assertThrows(IllegalArgumentException.class, () -> ImageHeader.setMaxPixels(0));
        } finally {
            ImageHeader.setMaxPixels(saved);
        }
    }

    @Test
    void aFolderScanSkipsBombsAndCountsThem() throws IOException {
        Path root = Files.createDirectories(dir.resolve("folder/a"));
        Files.write(root.resolve("bomb.png"), pngBomb(20000, 20000));
        ImageIO.write(
                new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB),
                "png",
                root.resolve("ok.png").toFile());
        ImageFolder folder = new ImageFolder(
                dir.resolve("folder"), 28, 3, new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f});
        assertEquals(1, folder.size());
        assertEquals(1, folder.skipped());
    }
}
