package dev.mae4j.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients no one here wrote: Python's grpcio with stubs grpcio-tools generates from the repository's .proto, and
 * prometheus_client's text parser on /metrics (both from the project venv, which ./run-tests fills).
 */
@Tag("python")
class PythonClientsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static Path python() {
        Path p = Path.of("..", ".venv", "bin", "python").toAbsolutePath().normalize();
        if (!Files.isExecutable(p))
            throw new AssertionError(p + " is missing: ./run-tests makes it, with grpcio and prometheus_client");
        return p;
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Path out = Files.createTempFile("mae4j-python", ".log");
        try {
            Process p = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(out.toFile())
                    .start();
            if (!p.waitFor(3, TimeUnit.MINUTES)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError("timed out: " + command + "\n" + Files.readString(out));
            }
            assertEquals(0, p.exitValue(), command + ":\n" + Files.readString(out));
            return Files.readString(out);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private static float[] vector(JsonNode node) {
        float[] v = new float[node.size()];
        for (int k = 0; k < v.length; k++) v[k] = node.get(k).floatValue();
        return v;
    }

    @Test
    void grpcioClientFromTheProtoGetsTheEncodersVectors() throws Exception {
        Path weights = Fixtures.weights(dir.resolve("py.safetensors"), 5);
        List<Path> files = new ArrayList<>();
        List<float[]> expected = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            byte[] png = Fixtures.png(20 + i, 33, 28 + i);
            files.add(Files.write(dir.resolve(i + ".png"), png));
            expected.add(Fixtures.expected(weights, png));
        }
        try (EmbeddingServer s = EmbeddingServer.start(
                weights, ServerOptions.defaults().httpPort(0).grpcPort(0).accessLog(null), line -> {})) {
            Path out = dir.resolve("grpc.json");
            List<String> cmd = new ArrayList<>(List.of(
                    python().toString(),
                    Path.of("src/test/python/grpc_client.py").toAbsolutePath().toString(),
                    Path.of("src/main/proto").toAbsolutePath().toString(),
                    "127.0.0.1:" + s.grpcPort(),
                    out.toString()));
            files.forEach(f -> cmd.add(f.toString()));
            run(cmd);
            JsonNode r = JSON.readTree(out.toFile());
            String id = Fixtures.modelId(weights);
            assertEquals(id, r.get("info").get("model_id").asText());
            assertEquals(Fixtures.CONFIG.embedDim(), r.get("info").get("dim").asInt());
            for (int i = 0; i < 3; i++) {
                JsonNode u = r.get("unary").get(i);
                assertEquals("u" + i, u.get("id").asText());
                assertEquals(id, u.get("model_id").asText());
                Fixtures.assertSameVector(expected.get(i), vector(u.get("embedding")), "unary " + i);
                Fixtures.assertSameVector(expected.get(i), vector(r.get("batch").get(i)), "batch " + i);
            }
            JsonNode stream = r.get("stream");
            assertEquals(4, stream.size());
            assertEquals("bad", stream.get(1).get("id").asText());
            assertEquals(3, stream.get(1).get("error_code").asInt(), "INVALID_ARGUMENT for the garbage");
            for (int i = 0, k = 0; i < 4; i++) {
                if (i == 1) continue;
                assertEquals("s" + k, stream.get(i).get("id").asText());
                Fixtures.assertSameVector(expected.get(k), vector(stream.get(i).get("embedding")), "stream " + k);
                k++;
            }
            assertEquals("INVALID_ARGUMENT", r.get("garbage_status").asText());
        }
    }

    @Test
    void prometheusClientParsesMetricsThatCountWhatHappened() throws Exception {
        Path weights = Fixtures.weights(dir.resolve("metrics.safetensors"), 6);
        byte[] png = Fixtures.png(1, 28, 28);
        try (EmbeddingServer s = EmbeddingServer.start(
                weights, ServerOptions.defaults().httpPort(0).grpcPort(-1).accessLog(null), line -> {})) {
            URI base = URI.create("http://127.0.0.1:" + s.httpPort());
            for (int i = 0; i < 5; i++)
                assertEquals(200, HttpApiTest.post(base, "/embed", null, png).statusCode());
            for (int i = 0; i < 2; i++)
                assertEquals(
                        400,
                        HttpApiTest.post(base, "/embed", null, "x".getBytes()).statusCode());
            Path out = dir.resolve("metrics.json");
            run(List.of(
                    python().toString(),
                    Path.of("src/test/python/scrape_metrics.py")
                            .toAbsolutePath()
                            .toString(),
                    base.resolve("/metrics").toString(),
                    out.toString()));
            JsonNode r = JSON.readTree(out.toFile());
            assertTrue(r.get("content_type").asText().startsWith("text/plain; version=0.0.4"));
            JsonNode f = r.get("families");
            assertEquals(
                    "summary", f.get("mae4j_encoder_batch_size").get("type").asText());
            assertEquals(5.0, sample(f, "mae4j_encoder_batch_size", "mae4j_encoder_batch_size_sum", null, null));
            assertEquals(
                    5.0,
                    sample(
                            f,
                            "mae4j_encoder_request_latency_seconds",
                            "mae4j_encoder_request_latency_seconds_count",
                            null,
                            null));
            assertEquals(
                    5.0,
                    sample(f, "mae4j_server_requests_seconds", "mae4j_server_requests_seconds_count", "status", "200"));
            assertEquals(
                    2.0,
                    sample(f, "mae4j_server_requests_seconds", "mae4j_server_requests_seconds_count", "status", "400"));
            assertEquals(1.0, sample(f, "mae4j_server_ready", "mae4j_server_ready", null, null));
            assertEquals(
                    0.0,
                    sample(f, "mae4j_server_pixel_bytes_in_flight", "mae4j_server_pixel_bytes_in_flight", null, null));
        }
    }

    // The value of the family's sample with this name (and label value, when given).
    private static double sample(JsonNode families, String family, String name, String label, String value) {
        JsonNode fam = families.get(family);
        assertTrue(fam != null, family + " is exported: " + families.fieldNames());
        for (JsonNode s : fam.get("samples"))
            if (s.get(0).asText().equals(name)
                    && (label == null || value.equals(s.get(1).path(label).asText())))
                return s.get(2).asDouble();
        throw new AssertionError("no sample " + name + " " + label + "=" + value + " in " + fam);
    }
}
