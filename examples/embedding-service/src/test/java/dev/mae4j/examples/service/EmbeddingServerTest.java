package dev.mae4j.examples.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mae4j.Device;
import dev.mae4j.Encoder;
import dev.mae4j.MaeConfig;
import dev.mae4j.Model;
import dev.mae4j.Tensor;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The example service on loopback: vectors equal the encoder's, concurrent requests share batches, bad input is a 400. */
class EmbeddingServerTest {
    private static final int READ_TIMEOUT_S = 2;

    static {
        // before the JDK's HTTP server reads its settings (the first server of this JVM)
        System.setProperty(EmbeddingServer.READ_TIMEOUT_PROPERTY, String.valueOf(READ_TIMEOUT_S));
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final MaeConfig CONFIG = MaeConfig.fashionMnistSmall();

    @TempDir
    Path dir;

    // The normalisation the served weights record (Fashion-MNIST's), not the 0.5 default for one channel.
    private static final float MEAN = 0.2860f, STD = 0.3530f;

    // Crafted decompression bombs: a PNG and a JPEG whose headers declare 20000×20000 pixels (a few bytes of data).
    private static byte[] bomb(String name) throws java.io.IOException {
        try (var in = EmbeddingServerTest.class.getResourceAsStream("/bombs/" + name)) {
            return in.readAllBytes();
        }
    }

    /** A fresh encoder served on loopback, with a client and the /embed address. */
    private record Served(Model model, Encoder encoder, EmbeddingServer server, HttpClient http, URI uri)
            implements AutoCloseable {
        static Served start(int maxBatch, long waitMicros) throws Exception {
            Model m = Model.create(CONFIG, Device.cpu(), 1);
            m.setPreprocessing(dev.mae4j.Preprocessing.of(new float[] {MEAN}, new float[] {STD}));
            Encoder e = Encoder.of(m);
            EmbeddingServer s = new EmbeddingServer(e, 0, maxBatch, waitMicros);
            return new Served(
                    m, e, s, HttpClient.newHttpClient(), URI.create("http://127.0.0.1:" + s.port() + "/embed"));
        }

        HttpResponse<String> post(byte[] body) throws Exception {
            return http.send(
                    HttpRequest.newBuilder(uri)
                            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
        }

        @Override
        public void close() {
            server.close();
            encoder.close();
            model.close();
        }
    }

    @Test
    void servesTheEncodersVectorsAndBatchesConcurrentRequests() throws Exception {
        // a batch closes at 12 images or after a minute: the 12 concurrent requests below make exactly one batch,
        // however slowly a loaded machine sends them
        try (Served fixture = Served.start(12, 60_000_000)) {
            EmbeddingServer server = fixture.server();
            Encoder encoder = fixture.encoder();
            HttpClient http = fixture.http();
            URI uri = fixture.uri();
            List<Path> files = new ArrayList<>();
            List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                Path f = dir.resolve(i + ".png");
                java.awt.image.BufferedImage img =
                        new java.awt.image.BufferedImage(40, 32, java.awt.image.BufferedImage.TYPE_INT_RGB);
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 40; x++) img.setRGB(x, y, ((x + i) * 5 + y * 3) * 0x010101 & 0xffffff);
                javax.imageio.ImageIO.write(img, "png", f.toFile());
                files.add(f);
                responses.add(http.sendAsync(
                        HttpRequest.newBuilder(uri)
                                .POST(HttpRequest.BodyPublishers.ofFile(f))
                                .build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            for (int i = 0; i < files.size(); i++) {
                HttpResponse<String> r = responses.get(i).get();
                assertEquals(200, r.statusCode(), r.body());
                JsonNode body = JSON.readTree(r.body());
                float[] served = new float[body.get("dim").asInt()];
                for (int k = 0; k < served.length; k++)
                    served[k] = (float) body.get("embedding").get(k).asDouble();
                // the file's 8-bit pixels through the evaluation resize and crop, normalised as the weights record
                byte[] px = dev.mae4j.data.ImageFolder.decodePixels(files.get(i), 28, 1);
                float[] x = new float[px.length];
                for (int k = 0; k < px.length; k++) x[k] = ((px[k] & 0xff) / 255f - MEAN) / STD;
                try (Tensor t = Tensor.fromFloats(x, 1, 1, 28, 28);
                        Tensor f = encoder.embed(t, Encoder.Output.CLS)) {
                    assertArrayEquals(
                            f.toFloatArray(), served, 1e-5f, "image " + i + ": the served vector is the encoder's");
                }
            }
            assertEquals(12.0, server.meanBatchSize(), "12 concurrent requests shared one encoder call");

            HttpResponse<String> bad = http.send(
                    HttpRequest.newBuilder(uri)
                            .POST(HttpRequest.BodyPublishers.ofString("not an image"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(400, bad.statusCode());
            assertTrue(bad.body().contains("not a readable PNG or JPEG"), bad.body());
            HttpResponse<String> get =
                    http.send(HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(405, get.statusCode());
        }
    }

    /** A decompression bomb (a 1 KB PNG declaring 20000×20000 pixels) is a 413 at once; a truncated image a 400. */
    @Test
    void bombsAndTruncatedImagesAreRefusedWithoutDecoding() throws Exception {
        try (Served served = Served.start(4, 1000)) {
            for (byte[] bomb : new byte[][] {bomb("20000x20000.png"), bomb("20000x20000.jpg")}) {
                HttpResponse<String> r = served.post(bomb);
                assertEquals(413, r.statusCode(), r.body());
                assertTrue(r.body().contains("20000×20000 = 400000000 pixels, over the budget"), r.body());
            }
            Path f = dir.resolve("ok.png");
            javax.imageio.ImageIO.write(
                    new java.awt.image.BufferedImage(40, 32, java.awt.image.BufferedImage.TYPE_INT_RGB),
                    "png",
                    f.toFile());
            byte[] whole = java.nio.file.Files.readAllBytes(f);
            HttpResponse<String> cut = served.post(java.util.Arrays.copyOf(whole, whole.length / 2));
            assertEquals(400, cut.statusCode(), cut.body());
            HttpResponse<String> ok = served.post(whole);
            assertEquals(200, ok.statusCode(), "the server still serves honest requests: " + ok.body());
        }
    }

    /** A client that trickles its body is cut off after the read timeout instead of holding its connection. */
    @Test
    void aTricklingClientIsCutOff() throws Exception {
        assertEquals(String.valueOf(READ_TIMEOUT_S), System.getProperty(EmbeddingServer.READ_TIMEOUT_PROPERTY));
        try (Served served = Served.start(4, 1000);
                java.net.Socket s =
                        new java.net.Socket("127.0.0.1", served.server().port())) {
            var out = s.getOutputStream();
            out.write(("POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            long start = System.nanoTime();
            boolean cut = false;
            // one byte every 200 ms, for at most 20 s: far past the timeout, bounded either way
            for (int i = 0; i < 100 && !cut; i++) {
                try {
                    out.write('x');
                    out.flush();
                    Thread.sleep(200);
                } catch (java.io.IOException closed) {
                    cut = true;
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            assertTrue(cut, "the server still held the trickling connection after " + seconds + " s");
            assertTrue(seconds >= READ_TIMEOUT_S, "cut after " + seconds + " s, before the timeout");
        }
    }

    /**
     * Bombs mixed with honest requests from 8 clients at once (bounded: 64 requests, loopback): every bomb is a 413,
     * every honest request is served, and the honest requests' p99 latency is printed.
     */
    @Test
    void underAMixOfBombsHonestRequestsAreServed() throws Exception {
        try (Served served = Served.start(8, 2000)) {
            HttpClient http = served.http();
            URI uri = served.uri();
            Path f = dir.resolve("honest.png");
            javax.imageio.ImageIO.write(
                    new java.awt.image.BufferedImage(40, 32, java.awt.image.BufferedImage.TYPE_INT_RGB),
                    "png",
                    f.toFile());
            byte[] honest = java.nio.file.Files.readAllBytes(f);
            byte[][] bombs = {bomb("20000x20000.png"), bomb("20000x20000.jpg")};
            var pool = java.util.concurrent.Executors.newFixedThreadPool(8);
            try {
                List<java.util.concurrent.Future<long[]>> results = new ArrayList<>(); // {is bomb, status, nanos}
                for (int i = 0; i < 64; i++) {
                    boolean isBomb = i % 2 == 0;
                    byte[] body = isBomb ? bombs[i / 2 % 2] : honest;
                    results.add(pool.submit(() -> {
                        long t0 = System.nanoTime();
                        int status = http.send(
                                        HttpRequest.newBuilder(uri)
                                                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                                                .build(),
                                        HttpResponse.BodyHandlers.discarding())
                                .statusCode();
                        return new long[] {isBomb ? 1 : 0, status, System.nanoTime() - t0};
                    }));
                }
                List<Double> honestMs = new ArrayList<>();
                for (var r : results) {
                    long[] v = r.get();
                    assertEquals(v[0] == 1 ? 413 : 200, (int) v[1], v[0] == 1 ? "a bomb" : "an honest request");
                    if (v[0] == 0) honestMs.add(v[2] / 1e6);
                }
                honestMs.sort(null);
                System.out.printf(
                        "bombs and honest requests: 32 + 32, honest p50 %.1f ms, p99 %.1f ms%n",
                        honestMs.get(honestMs.size() / 2), honestMs.get((int) Math.ceil(0.99 * honestMs.size()) - 1));
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
