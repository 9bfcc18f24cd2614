package dev.mae4j.examples.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mae4j.Device;
import dev.mae4j.Encoder;
import dev.mae4j.MaeConfig;
import dev.mae4j.Model;
import dev.mae4j.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The example service on loopback: vectors equal the encoder's, concurrent requests share batches, bad input is a 400. */
class EmbeddingServerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final MaeConfig CONFIG = MaeConfig.fashionMnistSmall();

    @TempDir
    Path dir;

    @Test
    void servesTheEncodersVectorsAndBatchesConcurrentRequests() throws Exception {
        try (Model m = Model.create(CONFIG, Device.cpu(), 1); Encoder encoder = Encoder.of(m);
             EmbeddingServer server = new EmbeddingServer(encoder, 0, 16, 20_000)) {
            HttpClient http = HttpClient.newHttpClient();
            URI uri = URI.create("http://127.0.0.1:" + server.port() + "/embed");
            List<Path> files = new ArrayList<>();
            List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                Path f = dir.resolve(i + ".png");
                java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(40, 32, java.awt.image.BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < 32; y++) for (int x = 0; x < 40; x++) img.setRGB(x, y, ((x + i) * 5 + y * 3) * 0x010101 & 0xffffff);
                javax.imageio.ImageIO.write(img, "png", f.toFile());
                files.add(f);
                responses.add(http.sendAsync(HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofFile(f)).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            for (int i = 0; i < files.size(); i++) {
                HttpResponse<String> r = responses.get(i).get();
                assertEquals(200, r.statusCode(), r.body());
                JsonNode body = JSON.readTree(r.body());
                float[] served = new float[body.get("dim").asInt()];
                for (int k = 0; k < served.length; k++) served[k] = (float) body.get("embedding").get(k).asDouble();
                float[] x = server.preprocess(files.get(i));
                try (Tensor t = Tensor.fromFloats(x, 1, 1, 28, 28); Tensor f = encoder.embed(t, Encoder.Output.CLS)) {
                    assertArrayEquals(f.toFloatArray(), served, 1e-5f, "image " + i + ": the served vector is the encoder's");
                }
            }
            assertTrue(server.batcher().meanBatchSize() > 1, "12 concurrent requests shared encoder calls: mean batch "
                    + server.batcher().meanBatchSize());

            HttpResponse<String> bad = http.send(HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofString("not an image")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(400, bad.statusCode());
            assertTrue(bad.body().contains("not a readable PNG or JPEG"), bad.body());
            HttpResponse<String> get = http.send(HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(405, get.statusCode());
        }
    }

    @Test
    void aFullQueueRejectsInsteadOfGrowing() throws Exception {
        try (Model m = Model.create(CONFIG, Device.cpu(), 1); Encoder encoder = Encoder.of(m);
             MicroBatcher b = new MicroBatcher(encoder, Encoder.Output.CLS, 1, 0, 1)) {
            float[] x = new float[28 * 28];
            List<CompletableFuture<float[]>> fs = new ArrayList<>();
            for (int i = 0; i < 200; i++) fs.add(b.submit(x));
            long rejected = fs.stream().filter(f -> {
                try {
                    f.get();
                    return false;
                } catch (Exception e) {
                    return e.getCause() instanceof java.util.concurrent.RejectedExecutionException;
                }
            }).count();
            assertTrue(rejected > 0, "a queue of 1 cannot hold 200 requests");
            assertTrue(b.submit(new float[3]).isCompletedExceptionally(), "a wrong-sized image fails at once");
        }
    }
}
