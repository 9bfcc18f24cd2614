package dev.mae4j.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mae4j.Device;
import dev.mae4j.Encoder;
import dev.mae4j.MaeConfig;
import dev.mae4j.Model;
import dev.mae4j.Preprocessing;
import dev.mae4j.Tensor;
import dev.mae4j.data.ImageDecoder;
import dev.mae4j.data.ImageTooLargeException;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Encoded images decoded by the batching worker: the plain encoder's vectors; a bad file fails alone. */
class EncodedImagesTest {
    @TempDir
    Path dir;

    private static byte[] png(int seed) throws IOException {
        BufferedImage img = new BufferedImage(33, 30, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 30; y++)
            for (int x = 0; x < 33; x++) img.setRGB(x, y, ((x * 5 + y * 3 + seed * 17) & 0xff) * 0x010203 & 0xffffff);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    /** A PNG whose header declares 20000 × 20000 pixels and whose data is empty. */
    private static byte[] bomb() {
        ByteBuffer ihdr = ByteBuffer.allocate(17).order(ByteOrder.BIG_ENDIAN);
        ihdr.put("IHDR".getBytes()).putInt(20000).putInt(20000).put(new byte[] {8, 2, 0, 0, 0});
        CRC32 crc = new CRC32();
        crc.update(ihdr.array());
        ByteBuffer png = ByteBuffer.allocate(8 + 4 + 17 + 4).order(ByteOrder.BIG_ENDIAN);
        png.put(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        png.putInt(13).put(ihdr.array()).putInt((int) crc.getValue());
        return png.array();
    }

    @Test
    void encodedImagesGetThePlainEncodersVectorsAndBadFilesFailAlone() throws Exception {
        Path weights = dir.resolve("w.safetensors");
        try (Model m = Model.create(MaeConfig.fashionMnistSmall(), Device.cpu(), 2)) {
            m.setPreprocessing(Preprocessing.of(new float[] {0.3f}, new float[] {0.4f}));
            m.save(weights);
        }
        ImageDecoder decoder;
        List<byte[]> images = new ArrayList<>();
        List<float[]> expected = new ArrayList<>();
        try (Encoder e = Encoder.load(weights, Device.cpu())) {
            decoder = new ImageDecoder(28, 1, e.preprocessing());
            for (int i = 0; i < 6; i++) {
                images.add(png(i));
                try (Tensor x = decoder.decode(images.get(i), "image");
                        Tensor f = e.embed(x, Encoder.Output.CLS)) {
                    expected.add(f.toFloatArray());
                }
            }
        }
        // one batch of 8 (it closes at 8 images or after a minute): 6 images, a garbage file and a bomb
        var registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        try (BatchingEncoder b = BatchingEncoder.builder(Encoder.load(weights, Device.cpu()))
                .maxBatch(8)
                .maxWait(Duration.ofMinutes(1))
                .decodeThreads(2)
                .modelId("w")
                .metrics(MicrometerEncoderMetrics.of(registry))
                .build()) {
            List<CompletableFuture<Embedding>> fs = new ArrayList<>();
            for (int i = 0; i < 3; i++) fs.add(b.embedEncoded(images.get(i), "image " + i, decoder, null));
            CompletableFuture<Embedding> garbage = b.embedEncoded("no image".getBytes(), "garbage", decoder, null);
            CompletableFuture<Embedding> bomb = b.embedEncoded(bomb(), "bomb", decoder, null);
            for (int i = 3; i < 6; i++) fs.add(b.embedEncoded(images.get(i), "image " + i, decoder, null));
            for (int i = 0; i < 6; i++) {
                Embedding got = fs.get(i).get(60, TimeUnit.SECONDS);
                assertEquals("w", got.modelId());
                for (int k = 0; k < got.vector().length; k++)
                    assertEquals(
                            expected.get(i)[k],
                            got.vector()[k],
                            2e-5 * Math.max(1, Math.abs(expected.get(i)[k])),
                            "image " + i + " [" + k + "]");
            }
            ExecutionException g = assertThrows(ExecutionException.class, garbage::get);
            assertInstanceOf(IOException.class, g.getCause());
            assertTrue(
                    g.getCause().getMessage().contains("garbage"), g.getCause().getMessage());
            ExecutionException bb = assertThrows(ExecutionException.class, bomb::get);
            assertInstanceOf(ImageTooLargeException.class, bb.getCause());
            assertEquals(
                    1, registry.get("mae4j.encoder.decode.duration").timer().count(), "one batch decoded");
            assertEquals(
                    2.0,
                    registry.get("mae4j.encoder.images.undecodable").counter().count());
            assertEquals(6.0, registry.get("mae4j.encoder.batch.size").summary().totalAmount(), "6 images embedded");
            try (Model other = Model.create(MaeConfig.tiny(), Device.cpu(), 1);
                    BatchingEncoder wrong =
                            BatchingEncoder.builder(Encoder.of(other)).build()) {
                IllegalArgumentException e = assertThrows(
                        IllegalArgumentException.class, () -> wrong.embedEncoded(images.get(0), "x", decoder, null));
                assertTrue(e.getMessage().contains("the decoder gives images of 784 values"), e.getMessage());
            }
        }
    }
}
