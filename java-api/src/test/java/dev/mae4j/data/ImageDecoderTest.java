package dev.mae4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mae4j.Preprocessing;
import dev.mae4j.Tensor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Decoding from memory gives exactly what decoding the same bytes from a file gives (ImageFolder.decode, itself
 * checked against PIL and torchvision elsewhere), for JPEG and PNG, colour and grey, from a byte[], a heap or direct
 * ByteBuffer and an InputStream; bombs and garbage end in the exceptions that name them; streams are bounded.
 */
class ImageDecoderTest {
    private static final Preprocessing RGB =
            Preprocessing.of(new float[] {0.4f, 0.5f, 0.6f}, new float[] {0.2f, 0.25f, 0.3f});
    private static final Preprocessing GREY = Preprocessing.of(new float[] {0.286f}, new float[] {0.353f});

    /** A 50 × 37 image of smooth gradients and noise, so resizing and JPEG rounding both show. */
    private static Path image(Path dir, String format, boolean grey) throws IOException {
        BufferedImage img = new BufferedImage(50, 37, grey ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
        Random r = new Random(5);
        for (int y = 0; y < 37; y++)
            for (int x = 0; x < 50; x++) {
                int v = (x * 5 + y * 3 + r.nextInt(40)) & 0xff;
                img.setRGB(
                        x,
                        y,
                        grey ? v * 0x010101 : (v << 16) | (((x * 7) & 0xff) << 8) | ((y * 11 + r.nextInt(9)) & 0xff));
            }
        Path file = dir.resolve((grey ? "grey." : "colour.") + format);
        assertTrue(ImageIO.write(img, format, file.toFile()));
        return file;
    }

    @ParameterizedTest(name = "{0}, {1} channel(s) asked, grey file {2}")
    @CsvSource({"png, 3, false", "png, 1, false", "png, 1, true", "png, 3, true", "jpg, 3, false", "jpg, 1, true"})
    void memoryGivesTheFilesPixels(String format, int channels, boolean grey, @TempDir Path dir) throws IOException {
        Path file = image(dir, format, grey);
        Preprocessing p = channels == 3 ? RGB : GREY;
        int size = 24;
        float[] fromFile = new float[channels * size * size];
        ImageFolder.decode(file, size, channels, p.mean(), p.std(), fromFile, 0);
        byte[] bytes = Files.readAllBytes(file);
        ImageDecoder d = new ImageDecoder(size, channels, p);

        float[] fromBytes = new float[fromFile.length + 3];
        d.decode(bytes, "request", fromBytes, 3);
        assertArrayEquals(
                fromFile, java.util.Arrays.copyOfRange(fromBytes, 3, fromBytes.length), "byte[] at an offset");
        ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length + 4).position(4);
        direct.put(bytes).position(4);
        try (Tensor a = d.decode(bytes, "request");
                Tensor b = d.decode(ByteBuffer.wrap(bytes), "request");
                Tensor c = d.decode(direct, "request");
                Tensor s = d.decode(new ByteArrayInputStream(bytes), "request")) {
            assertArrayEquals(new long[] {1, channels, size, size}, a.shape());
            assertArrayEquals(fromFile, a.toFloatArray(), "byte[]");
            assertArrayEquals(fromFile, b.toFloatArray(), "heap ByteBuffer");
            assertArrayEquals(fromFile, c.toFloatArray(), "direct ByteBuffer");
            assertArrayEquals(fromFile, s.toFloatArray(), "InputStream");
        }
        assertEquals(4, direct.position(), "the buffer's position is left where it was");
    }

    @Test
    void bombsAreRefusedBeforeDecodingAndGarbageIsNamed() throws IOException {
        ImageDecoder d = new ImageDecoder(16, 3, RGB);
        long old = ImageHeader.maxPixels();
        byte[] bomb = ImageHeaderTest.pngBomb(100_000, 100_000);
        ImageTooLargeException e = assertThrows(ImageTooLargeException.class, () -> d.decode(bomb, "bomb.png"));
        assertTrue(e.getMessage().contains("bomb.png"), e.getMessage());
        assertEquals(old, ImageHeader.maxPixels());
        IOException bad = assertThrows(IOException.class, () -> d.decode(new byte[] {1, 2, 3, 4, 5}, "garbage"));
        assertTrue(bad.getMessage().contains("garbage"), bad.getMessage());
        assertTrue(!(bad instanceof ImageTooLargeException));
    }

    /** ImageIO caches streams in a temporary file by default; decoding from memory must write none. */
    @Test
    void decodingFromMemoryWritesNoFile(@TempDir Path cache, @TempDir Path files) throws Exception {
        byte[] png = Files.readAllBytes(image(files, "png", false));
        byte[] jpg = Files.readAllBytes(image(files, "jpg", false));
        java.io.File before = ImageIO.getCacheDirectory();
        try (java.nio.file.WatchService watch = cache.getFileSystem().newWatchService()) {
            ImageIO.setCacheDirectory(cache.toFile()); // where ImageIO's cache files would appear
            cache.register(watch, java.nio.file.StandardWatchEventKinds.ENTRY_CREATE);
            ImageDecoder d = new ImageDecoder(16, 3, RGB);
            float[] x = new float[d.imageFloats()];
            for (byte[] image : new byte[][] {png, jpg}) {
                ImageHeader.read(image);
                d.decode(image, "image", x, 0);
            }
            java.nio.file.WatchKey key = watch.poll(200, java.util.concurrent.TimeUnit.MILLISECONDS);
            assertEquals(
                    java.util.List.of(),
                    key == null
                            ? java.util.List.of()
                            : key.pollEvents().stream()
                                    .map(e -> e.context().toString())
                                    .toList(),
                    "files created while decoding");
        } finally {
            ImageIO.setCacheDirectory(before);
        }
    }

    @Test
    void streamsAreReadOnlyUpToTheLimit() throws IOException {
        ImageDecoder d = new ImageDecoder(16, 3, RGB, 1000);
        byte[] big = new byte[5000];
        IOException e = assertThrows(IOException.class, () -> d.readBounded(new ByteArrayInputStream(big), "upload"));
        assertTrue(e.getMessage().contains("upload") && e.getMessage().contains("1000"), e.getMessage());
        assertEquals(1000, d.readBounded(new ByteArrayInputStream(new byte[1000]), "exact").length);
        assertThrows(IOException.class, () -> d.decode(ByteBuffer.wrap(big), "buffer"));
        assertThrows(IllegalArgumentException.class, () -> new ImageDecoder(16, 3, GREY));
        assertThrows(IllegalArgumentException.class, () -> new ImageDecoder(16, 2, RGB));
    }
}
