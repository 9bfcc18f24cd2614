package dev.mae4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mae4j.Device;
import dev.mae4j.Encoder;
import dev.mae4j.MaeConfig;
import dev.mae4j.Model;
import dev.mae4j.Preprocessing;
import dev.mae4j.Tensor;
import dev.mae4j.data.ImageDecoder;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** `mae serve` as its own process: curl gets the encoder's vectors; SIGTERM under load answers every accepted request. */
@Tag("process")
class ServeCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** A running `mae serve` child JVM: its process, HTTP base address, stderr and access log. */
    private record Server(Process process, URI base, Path err, Path accessLog) implements AutoCloseable {
        static Server start(Path weights, Path dir, String... extra) throws Exception {
            Path err = dir.resolve("serve.err"), log = dir.resolve("access.log");
            List<String> cmd = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED",
                    "-cp",
                    System.getProperty("java.class.path"),
                    MaeCommand.class.getName(),
                    "serve",
                    "--weights",
                    weights.toString(),
                    "--port",
                    "0",
                    "--grpc-port",
                    "-1",
                    "--access-log",
                    log.toString()));
            cmd.addAll(List.of(extra));
            Process p = new ProcessBuilder(cmd)
                    .redirectError(err.toFile())
                    .redirectOutput(dir.resolve("serve.out").toFile())
                    .start();
            Pattern listening = Pattern.compile("listening: http://127\\.0\\.0\\.1:(\\d+)");
            long until = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (System.nanoTime() < until && p.isAlive()) {
                String text = Files.exists(err) ? Files.readString(err) : "";
                Matcher m = listening.matcher(text);
                if (text.contains("ready:") && m.find())
                    return new Server(p, URI.create("http://127.0.0.1:" + m.group(1)), err, log);
                Thread.sleep(50);
            }
            p.destroyForcibly();
            throw new AssertionError("mae serve did not become ready:\n" + Files.readString(err));
        }

        @Override
        public void close() throws Exception {
            process.destroyForcibly().waitFor();
        }
    }

    private Path weights() throws IOException {
        Path w = dir.resolve("model.safetensors");
        try (Model m = Model.create(MaeConfig.fashionMnistSmall(), Device.cpu(), 4)) {
            m.setPreprocessing(Preprocessing.of(new float[] {0.2860f}, new float[] {0.3530f}));
            m.save(w);
        }
        return w;
    }

    private static byte[] png(int seed) throws IOException {
        BufferedImage img = new BufferedImage(36, 30, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 30; y++)
            for (int x = 0; x < 36; x++) img.setRGB(x, y, ((x * 7 + y * 3 + seed * 11) & 0xff) * 0x010101);
        var out = new java.io.ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    private static float[] expected(Path weights, byte[] image) throws IOException {
        try (Encoder e = Encoder.load(weights, Device.cpu());
                Tensor x = new ImageDecoder(28, 1, e.preprocessing()).decode(image, "image");
                Tensor f = e.embed(x, Encoder.Output.CLS)) {
            return f.toFloatArray();
        }
    }

    private static void assertVector(float[] expected, JsonNode got, String what) {
        assertEquals(expected.length, got.size(), what);
        for (int k = 0; k < expected.length; k++)
            assertEquals(expected[k], got.get(k).floatValue(), 2e-5 * Math.max(1, Math.abs(expected[k])), what + k);
    }

    private static String curl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-sS", "--fail-with-body", "--max-time", "60"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), String.join(" ", cmd) + ":\n" + out);
        return out;
    }

    /** The README's one line, and its JSON form, through curl. */
    @Test
    @Timeout(180)
    void curlGetsTheEncodersVectors() throws Exception {
        Path w = weights();
        byte[] image = png(1);
        Path file = Files.write(dir.resolve("image.png"), image);
        float[] want = expected(w, image);
        try (Server s = Server.start(w, dir)) {
            JsonNode raw = JSON.readTree(curl("--data-binary", "@" + file, s.base + "/embed"));
            assertEquals(128, raw.get("dim").asInt());
            assertTrue(raw.get("model_id").asText().startsWith("model.safetensors@"), raw.toString());
            assertVector(want, raw.get("embedding"), "raw body ");
            Path body = Files.writeString(
                    dir.resolve("body.json"),
                    "{\"images\": [\"" + Base64.getEncoder().encodeToString(image) + "\"]}");
            JsonNode batch = JSON.readTree(
                    curl("-H", "Content-Type: application/json", "--data-binary", "@" + body, s.base + "/embed"));
            assertVector(want, batch.get("data").get(0).get("embedding"), "JSON batch ");
            assertTrue(curl(s.base + "/metrics").contains("mae4j_encoder_batch_size_count"));
            assertEquals("{\"status\":\"ok\"}", curl(s.base + "/health"));
        }
    }

    /**
     * SIGTERM while 6 clients send requests without pause: the process drains and exits; every request its access log
     * shows answered reached its client with that answer (none lost), and every 200 carries the encoder's vector.
     * Requests the server never read (the listener closed) fail at the client and are absent from the log, or logged
     * 499 when their connection broke while the server read them.
     */
    @Test
    @Timeout(240)
    void sigtermUnderLoadAnswersEveryAcceptedRequest() throws Exception {
        Path w = weights();
        byte[][] images = new byte[4][];
        float[][] want = new float[4][];
        for (int i = 0; i < 4; i++) {
            images[i] = png(i);
            want[i] = expected(w, images[i]);
        }
        Map<String, Object> outcomes = new ConcurrentHashMap<>(); // request id -> status (Integer) or exception
        AtomicInteger answered = new AtomicInteger();
        try (Server s = Server.start(w, dir, "--max-batch", "8", "--max-wait", "5ms")) {
            HttpClient http = HttpClient.newBuilder()
                    .connectTimeout(Duration.ofSeconds(10))
                    .build();
            ExecutorService pool = Executors.newFixedThreadPool(6);
            List<Future<?>> clients = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                int client = t;
                clients.add(pool.submit(() -> {
                    for (int i = 0; i < 100_000; i++) {
                        String id = "c" + client + "-" + i;
                        int k = (client + i) % 4;
                        try {
                            HttpResponse<String> r = http.send(
                                    HttpRequest.newBuilder(s.base.resolve("/embed"))
                                            .header("X-Request-Id", id)
                                            .timeout(Duration.ofSeconds(60))
                                            .POST(HttpRequest.BodyPublishers.ofByteArray(images[k]))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString());
                            outcomes.put(id, r.statusCode());
                            if (r.statusCode() != 200 && r.statusCode() != 503) outcomes.put(id, r.body());
                            if (r.statusCode() == 200) {
                                assertVector(want[k], JSON.readTree(r.body()).get("embedding"), id + " ");
                                answered.incrementAndGet();
                            }
                        } catch (IOException e) {
                            outcomes.put(id, e);
                            if (!s.process.isAlive()) return null;
                        }
                        if (!s.process.isAlive()) return null;
                    }
                    return null;
                }));
            }
            long until = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
            while (answered.get() < 60 && System.nanoTime() < until) Thread.sleep(10);
            assertTrue(answered.get() >= 60, "under load before SIGTERM: " + answered);
            s.process.destroy(); // SIGTERM
            assertTrue(s.process.waitFor(90, TimeUnit.SECONDS), "exited after draining");
            for (Future<?> c : clients) c.get(60, TimeUnit.SECONDS);
            pool.shutdownNow();
            assertEquals(0, s.process.exitValue(), "a drained server exits cleanly");
            String err = Files.readString(s.err);
            assertTrue(err.contains("stopped: every accepted request was answered"), err);
            Map<String, Integer> logged = new HashMap<>();
            for (String line : Files.readAllLines(s.accessLog)) {
                JsonNode n = JSON.readTree(line);
                if (n.has("request_id"))
                    logged.put(n.get("request_id").asText(), n.get("status").asInt());
            }
            int sent = 0;
            for (var e : outcomes.entrySet()) {
                Integer inLog = logged.get(e.getKey());
                if (e.getValue() instanceof String body) throw new AssertionError(e.getKey() + ": " + body);
                if (e.getValue() instanceof Integer status) {
                    sent++;
                    // the logged status, or 499 where the server saw its answer fail to leave (claiming nothing)
                    assertTrue(
                            status.equals(inLog) || Integer.valueOf(499).equals(inLog),
                            e.getKey() + ": the client got " + status + ", the server logged " + inLog);
                    assertTrue(status == 200 || status == 503, e.getKey() + ": " + status);
                } else // never read, or its connection broke while it was read: the log must claim no answer
                assertTrue(
                            inLog == null || inLog == 499,
                            e.getKey() + " failed at the client (" + e.getValue() + ") though the server logged "
                                    + inLog);
            }
            assertTrue(sent >= 60, "answered: " + sent);
        }
    }
}
