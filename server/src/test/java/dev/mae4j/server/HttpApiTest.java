package dev.mae4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mae4j.MaeConfig;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP side driven by the JDK's HttpClient: vectors equal a plain encoder's for raw, JSON and batch bodies; bad
 * input is a 4xx naming the problem; health, readiness, info and metrics; reload; drain on close.
 */
class HttpApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    static Path dir;

    private static Path weights, log;
    private static EmbeddingServer server;
    private static URI base;
    private static byte[][] images;
    private static float[][] expected;

    @BeforeAll
    static void start() throws Exception {
        weights = Fixtures.weights(dir.resolve("model.safetensors"), 1);
        log = dir.resolve("access.log");
        images = new byte[6][];
        expected = new float[6][];
        for (int i = 0; i < images.length; i++) {
            images[i] = Fixtures.png(i, 40 + i, 32);
            expected[i] = Fixtures.expected(weights, images[i]);
        }
        server = EmbeddingServer.start(
                weights,
                ServerOptions.defaults()
                        .httpPort(0)
                        .grpcPort(-1)
                        .maxBodyBytes(100_000)
                        .bodyBytesInFlight(1 << 20)
                        .maxImagesPerRequest(4)
                        .accessLog(log),
                line -> {});
        base = URI.create("http://127.0.0.1:" + server.httpPort());
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    static HttpResponse<String> post(URI base, String path, String type, byte[] body) throws Exception {
        HttpRequest.Builder b =
                HttpRequest.newBuilder(base.resolve(path)).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (type != null) b.header("Content-Type", type);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(URI base, String path) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(base.resolve(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    static float[] vector(JsonNode node) {
        float[] v = new float[node.size()];
        for (int k = 0; k < v.length; k++) v[k] = node.get(k).floatValue();
        return v;
    }

    private static String json(String field, String value) {
        return "{\"" + field + "\": " + value + "}";
    }

    private static String b64(byte[] b) {
        return "\"" + Base64.getEncoder().encodeToString(b) + "\"";
    }

    @Test
    void rawJsonAndBatchBodiesGetTheEncodersVectors() throws Exception {
        String id = Fixtures.modelId(weights);
        // a raw body, with and without an image Content-Type
        for (String type : new String[] {"image/png", null}) {
            HttpResponse<String> r = post(base, "/embed", type, images[0]);
            assertEquals(200, r.statusCode(), r.body());
            JsonNode body = JSON.readTree(r.body());
            assertEquals(id, body.get("model_id").asText());
            assertEquals(Fixtures.CONFIG.embedDim(), body.get("dim").asInt());
            Fixtures.assertSameVector(expected[0], vector(body.get("embedding")), "raw body");
        }
        // JSON, one image, and a data URL
        HttpResponse<String> one = post(
                base,
                "/embed",
                "application/json",
                json("image", b64(images[1])).getBytes());
        assertEquals(200, one.statusCode(), one.body());
        Fixtures.assertSameVector(expected[1], vector(JSON.readTree(one.body()).get("embedding")), "JSON body");
        String dataUrl = "\"data:image/png;base64," + Base64.getEncoder().encodeToString(images[2]) + "\"";
        HttpResponse<String> url =
                post(base, "/embed", "application/json", json("image", dataUrl).getBytes());
        Fixtures.assertSameVector(expected[2], vector(JSON.readTree(url.body()).get("embedding")), "data URL");
        // JSON batch: answers in order
        String list = "[" + b64(images[3]) + "," + b64(images[4]) + "," + b64(images[5]) + "]";
        HttpResponse<String> batch = post(
                base,
                "/embed",
                "application/json; charset=utf-8",
                json("images", list).getBytes());
        assertEquals(200, batch.statusCode(), batch.body());
        JsonNode data = JSON.readTree(batch.body()).get("data");
        assertEquals(3, data.size());
        for (int i = 0; i < 3; i++) {
            assertEquals(i, data.get(i).get("index").asInt());
            assertEquals(id, data.get(i).get("model_id").asText());
            Fixtures.assertSameVector(expected[3 + i], vector(data.get(i).get("embedding")), "batch item " + i);
        }
    }

    @Test
    void badInputIsA4xxThatNamesTheProblem() throws Exception {
        record Case(String what, String type, byte[] body, int status, String message) {}
        byte[] big = Arrays.copyOf(images[0], 150_000);
        List<Case> cases = List.of(
                new Case("garbage", null, "not an image".getBytes(), 400, "not a readable PNG or JPEG image"),
                new Case(
                        "a truncated PNG",
                        "image/png",
                        Arrays.copyOf(images[0], images[0].length / 2),
                        400,
                        "not a readable"),
                new Case("a PNG bomb", null, Fixtures.bomb("20000x20000.png"), 413, "20000×20000 = 400000000 pixels"),
                new Case("a JPEG bomb", null, Fixtures.bomb("20000x20000.jpg"), 413, "20000×20000 = 400000000 pixels"),
                new Case("a body over the limit", null, big, 413, "request bodies up to 100000 bytes"),
                new Case("malformed JSON", "application/json", "{\"image\": ".getBytes(), 400, "the body is not JSON"),
                new Case("JSON of another shape", "application/json", "{\"img\": 1}".getBytes(), 400, "a JSON body is"),
                new Case(
                        "bad base64",
                        "application/json",
                        json("image", "\"@@@\"").getBytes(),
                        400,
                        "image is not base64"),
                new Case(
                        "an empty batch",
                        "application/json",
                        json("images", "[]").getBytes(),
                        400,
                        "images is empty"),
                new Case(
                        "too many images",
                        "application/json",
                        json("images", "[" + String.join(",", java.util.Collections.nCopies(5, b64(images[0]))) + "]")
                                .getBytes(),
                        400,
                        "5 images in one request, the limit is 4"),
                new Case(
                        "a bomb in a batch",
                        "application/json",
                        json("images", "[" + b64(images[0]) + "," + b64(Fixtures.bomb("20000x20000.png")) + "]")
                                .getBytes(),
                        413,
                        "images[1]"));
        for (Case c : cases) {
            HttpResponse<String> r = post(base, "/embed", c.type, c.body);
            assertEquals(c.status, r.statusCode(), c.what + ": " + r.body());
            String error = JSON.readTree(r.body()).get("error").asText();
            assertTrue(error.contains(c.message), c.what + ": " + error);
        }
        assertEquals(405, get(base, "/embed").statusCode());
        assertEquals(404, get(base, "/embed/more").statusCode());
        assertEquals(405, post(base, "/health", null, new byte[0]).statusCode());
        HttpResponse<String> badTimeout = HTTP.send(
                HttpRequest.newBuilder(base.resolve("/embed"))
                        .header("X-Request-Timeout-Ms", "soon")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(images[0]))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(400, badTimeout.statusCode(), badTimeout.body());
        assertEquals(200, post(base, "/embed", null, images[0]).statusCode(), "honest requests are still served");
    }

    @Test
    void healthReadinessInfoMetricsAndTheAccessLog() throws Exception {
        assertEquals("{\"status\":\"ok\"}", get(base, "/health").body());
        HttpResponse<String> ready = get(base, "/ready");
        assertEquals(200, ready.statusCode());
        assertEquals(
                Fixtures.modelId(weights),
                JSON.readTree(ready.body()).get("model_id").asText());
        JsonNode info = JSON.readTree(get(base, "/info").body());
        assertEquals(Fixtures.CONFIG.embedDim(), info.get("dim").asInt());
        assertEquals(28, info.get("image_size").asInt());
        assertEquals(1, info.get("channels").asInt());
        HttpResponse<String> tagged = HTTP.send(
                HttpRequest.newBuilder(base.resolve("/embed"))
                        .header("X-Request-Id", "req-42")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(images[0]))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals("req-42", tagged.headers().firstValue("X-Request-Id").orElse(null));
        HttpResponse<String> metrics = get(base, "/metrics");
        assertEquals(200, metrics.statusCode());
        assertTrue(metrics.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
        for (String name : new String[] {
            "mae4j_encoder_batch_size_count",
            "mae4j_encoder_request_latency_seconds_count",
            "mae4j_encoder_queue_depth 0.0",
            "mae4j_server_ready 1.0",
            "mae4j_server_requests_seconds_count{endpoint=\"/embed\",protocol=\"http\",status=\"200\"}",
            "jvm_memory_used_bytes"
        }) assertTrue(metrics.body().contains(name), name + " in\n" + metrics.body());
        // the access log: one JSON object a line, the tagged request among them
        JsonNode line = Files.readAllLines(log).stream()
                .map(l -> {
                    try {
                        return JSON.readTree(l);
                    } catch (Exception e) {
                        throw new AssertionError("not JSON: " + l, e);
                    }
                })
                .filter(n -> n.has("request_id") && n.get("request_id").asText().equals("req-42"))
                .findFirst()
                .orElseThrow();
        assertEquals("http", line.get("protocol").asText());
        assertEquals("/embed", line.get("path").asText());
        assertEquals(200, line.get("status").asInt());
        assertEquals(1, line.get("images").asInt());
        assertEquals(Fixtures.modelId(weights), line.get("model_id").asText());
    }

    @Test
    void reloadSwapsTheWeightsAndRefusesWeightsThatDoNotFit() throws Exception {
        Path file = dir.resolve("reloaded.safetensors");
        Fixtures.weights(file, 7);
        try (EmbeddingServer s = EmbeddingServer.start(
                file, ServerOptions.defaults().httpPort(0).grpcPort(-1).accessLog(null), line -> {})) {
            URI u = URI.create("http://127.0.0.1:" + s.httpPort());
            String first = Fixtures.modelId(file);
            float[] before = Fixtures.expected(file, images[0]);
            Fixtures.weights(file, 8); // new weights under the same name, as a training job writes them
            float[] after = Fixtures.expected(file, images[0]);
            HttpResponse<String> reload = post(u, "/admin/reload", null, new byte[0]);
            assertEquals(200, reload.statusCode(), reload.body());
            String second = Fixtures.modelId(file);
            assertNotEquals(first, second);
            assertEquals(second, JSON.readTree(reload.body()).get("model_id").asText());
            JsonNode r = JSON.readTree(post(u, "/embed", null, images[0]).body());
            assertEquals(second, r.get("model_id").asText());
            Fixtures.assertSameVector(after, vector(r.get("embedding")), "after the reload");
            assertFalse(Fixtures.sameVector(before, after), "the two models differ");
            // weights of another width, then of another normalisation: refused, the served model stays
            Fixtures.weights(file, MaeConfig.fashionMnist(), Fixtures.PREPROCESSING, 9);
            HttpResponse<String> wide = post(u, "/admin/reload", null, new byte[0]);
            assertEquals(422, wide.statusCode(), wide.body());
            assertTrue(wide.body().contains("to 192 features; the server serves 1×28×28 to 128"), wide.body());
            Fixtures.weights(
                    file, Fixtures.CONFIG, dev.mae4j.Preprocessing.of(new float[] {0.5f}, new float[] {0.5f}), 10);
            HttpResponse<String> norm = post(u, "/admin/reload", null, new byte[0]);
            assertEquals(422, norm.statusCode(), norm.body());
            assertTrue(norm.body().contains("normalise"), norm.body());
            JsonNode still = JSON.readTree(post(u, "/embed", null, images[0]).body());
            assertEquals(second, still.get("model_id").asText());
            Fixtures.assertSameVector(after, vector(still.get("embedding")), "the served model stayed");
            assertEquals(405, get(u, "/admin/reload").statusCode());
        }
    }

    @Test
    void watchedWeightsAreReloadedWhenTheirFileChanges() throws Exception {
        Path file = dir.resolve("watched.safetensors");
        Fixtures.weights(file, 11);
        List<String> notices = java.util.Collections.synchronizedList(new ArrayList<>());
        try (EmbeddingServer s = EmbeddingServer.start(
                file,
                ServerOptions.defaults()
                        .httpPort(0)
                        .grpcPort(-1)
                        .accessLog(null)
                        .watchInterval(Duration.ofMillis(50)),
                notices::add)) {
            String first = s.modelId();
            Fixtures.weights(file, 12);
            String next = Fixtures.modelId(file);
            long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!s.modelId().equals(next) && System.nanoTime() < until) Thread.sleep(20);
            assertEquals(next, s.modelId(), "reloaded within 30 s; notices: " + notices);
            assertNotEquals(first, next);
            assertTrue(
                    notices.stream().anyMatch(n -> n.contains("weights changed: serving " + next)), notices.toString());
        }
    }

    /** A client that trickles its body is cut off after the read timeout (2 s in this module's tests). */
    @Test
    void aTricklingClientIsCutOff() throws Exception {
        assertEquals("2", System.getProperty(EmbeddingServer.READ_TIMEOUT_PROPERTY), "set by the module's pom");
        // its own server, with a short drain: the JDK's server counts a timed-out exchange as running until stop's
        // delay
        try (EmbeddingServer own = EmbeddingServer.start(
                        weights,
                        ServerOptions.defaults()
                                .httpPort(0)
                                .grpcPort(-1)
                                .accessLog(null)
                                .drainTimeout(Duration.ofSeconds(1)),
                        line -> {});
                java.net.Socket s = new java.net.Socket("127.0.0.1", own.httpPort())) {
            var out = s.getOutputStream();
            out.write("POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 90000\r\n\r\n"
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
            assertTrue(seconds >= 2, "cut after " + seconds + " s, before the timeout");
        }
    }

    /** Bombs mixed with honest requests from 8 clients at once: every bomb a 413, every honest request a 200. */
    @Test
    void underAMixOfBombsAndGarbageHonestRequestsAreServed() throws Exception {
        byte[][] bad = {Fixtures.bomb("20000x20000.png"), Fixtures.bomb("20000x20000.jpg"), "garbage".getBytes()};
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<int[]>> results = new ArrayList<>(); // {kind: 0 honest, 1 bomb, 2 garbage; status}
            for (int i = 0; i < 60; i++) {
                int kind = i % 3;
                byte[] body = kind == 0 ? images[i % images.length] : bad[kind == 1 ? i / 3 % 2 : 2];
                int image = i % images.length;
                results.add(pool.submit(() -> {
                    HttpResponse<String> r = post(base, "/embed", null, body);
                    if (kind == 0 && r.statusCode() == 200)
                        Fixtures.assertSameVector(
                                expected[image], vector(JSON.readTree(r.body()).get("embedding")), "honest " + image);
                    return new int[] {kind, r.statusCode()};
                }));
            }
            for (Future<int[]> f : results) {
                int[] v = f.get();
                assertEquals(v[0] == 0 ? 200 : v[0] == 1 ? 413 : 400, v[1], "request kind " + v[0]);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** close() answers every request it accepted — here five waiting for a batch that would wait a minute more. */
    @Test
    void closeAnswersEveryAcceptedRequestThenRefusesConnections() throws Exception {
        Path file = dir.resolve("drained.safetensors");
        Fixtures.weights(file, 1);
        EmbeddingServer s = EmbeddingServer.start(
                file,
                ServerOptions.defaults()
                        .httpPort(0)
                        .grpcPort(-1)
                        .accessLog(null)
                        .maxBatch(16)
                        .maxWait(Duration.ofMinutes(1)),
                line -> {});
        URI u = URI.create("http://127.0.0.1:" + s.httpPort());
        List<CompletableFuture<HttpResponse<String>>> waiting = new ArrayList<>();
        for (int i = 0; i < 5; i++)
            waiting.add(HTTP.sendAsync(
                    HttpRequest.newBuilder(u.resolve("/embed"))
                            .POST(HttpRequest.BodyPublishers.ofByteArray(images[i]))
                            .build(),
                    HttpResponse.BodyHandlers.ofString()));
        // all five decoded and queued: their pixels are counted in flight
        long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!get(u, "/metrics").body().contains("mae4j_server_pixel_bytes_in_flight " + 5 * 28 * 28 * 4 + ".0")
                && System.nanoTime() < until) Thread.sleep(20);
        for (CompletableFuture<HttpResponse<String>> w : waiting) assertFalse(w.isDone(), "still waiting for a batch");
        s.close();
        for (int i = 0; i < 5; i++) {
            HttpResponse<String> r = waiting.get(i).get();
            assertEquals(200, r.statusCode(), r.body());
            Fixtures.assertSameVector(
                    expected[i], vector(JSON.readTree(r.body()).get("embedding")), "drained " + i);
        }
        Exception refused = assertThrows(Exception.class, () -> post(u, "/embed", null, images[0]));
        assertTrue(
                refused instanceof ConnectException || refused.getCause() instanceof ConnectException,
                refused.toString());
    }
}
