package dev.mae4j.server;

import dev.mae4j.Device;
import dev.mae4j.Encoder;
import dev.mae4j.MaeConfig;
import dev.mae4j.Model;
import dev.mae4j.Preprocessing;
import dev.mae4j.Tensor;
import dev.mae4j.data.ImageDecoder;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import javax.imageio.ImageIO;

/** Weights, images and the vectors a plain {@link Encoder} gives them: what the server's answers are checked against. */
final class Fixtures {
    static final MaeConfig CONFIG = MaeConfig.fashionMnistSmall();
    // Fashion-MNIST's normalisation, recorded in the weights (not the 0.5 default for one channel)
    static final Preprocessing PREPROCESSING = Preprocessing.of(new float[] {0.2860f}, new float[] {0.3530f});

    private Fixtures() {}

    /** Weights of a fresh model drawn from {@code seed}, written to a temporary name and renamed to {@code file}. */
    static Path weights(Path file, MaeConfig config, Preprocessing p, long seed) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (Model m = Model.create(config, Device.cpu(), seed)) {
            m.setPreprocessing(p);
            m.save(tmp);
        }
        return Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    static Path weights(Path file, long seed) throws IOException {
        return weights(file, CONFIG, PREPROCESSING, seed);
    }

    /** The id the server must give weights: file name, "@", the first 12 hex digits of the file's SHA-256. */
    static String modelId(Path weights) throws Exception {
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(weights));
        return weights.getFileName() + "@" + HexFormat.of().formatHex(digest).substring(0, 12);
    }

    /** A PNG of w × h colour pixels, different for each seed. */
    static byte[] png(int seed, int w, int h) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                img.setRGB(
                        x,
                        y,
                        (((x + seed) * 5 + y * 3) & 0xff) << 16 | ((x * y + seed * 7) & 0xff) << 8 | (y * 9 & 0xff));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    /** The [CLS] features a plain encoder of {@code weights} gives {@code image} alone (batch 1). */
    static float[] expected(Path weights, byte[] image) throws IOException {
        try (Encoder e = Encoder.load(weights, Device.cpu())) {
            ImageDecoder d = new ImageDecoder(e.config().imgSize(), e.config().inChans(), e.preprocessing());
            try (Tensor x = d.decode(image, "image");
                    Tensor f = e.embed(x, Encoder.Output.CLS)) {
                return f.toFloatArray();
            }
        }
    }

    /** A crafted decompression bomb: a PNG or JPEG whose header declares 20000×20000 pixels (a few bytes of data). */
    static byte[] bomb(String name) throws IOException {
        try (InputStream in = Fixtures.class.getResourceAsStream("/bombs/" + name)) {
            return in.readAllBytes();
        }
    }

    /**
     * Equal to float32 rounding: the server batches images with others, and the kernels of a batch may sum in another
     * order than batch 1's.
     */
    static void assertSameVector(float[] expected, float[] got, String what) {
        org.junit.jupiter.api.Assertions.assertEquals(expected.length, got.length, what + ": dimension");
        for (int k = 0; k < expected.length; k++)
            org.junit.jupiter.api.Assertions.assertEquals(
                    expected[k], got[k], 2e-5 * Math.max(1, Math.abs(expected[k])), what + " [" + k + "]");
    }

    static boolean sameVector(float[] expected, float[] got) {
        if (expected.length != got.length) return false;
        for (int k = 0; k < expected.length; k++)
            if (Math.abs(expected[k] - got[k]) > 2e-5 * Math.max(1, Math.abs(expected[k]))) return false;
        return true;
    }
}
