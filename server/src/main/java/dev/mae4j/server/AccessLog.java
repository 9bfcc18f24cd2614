package dev.mae4j.server;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

/**
 * One JSON object per line for each request, e.g. {@code {"time":"2026-12-06T16:00:00.123Z","protocol":"http",
 * "method":"POST","path":"/embed","status":200,"images":1,"bytes":1534,"ms":4.21,"remote":"127.0.0.1",
 * "model_id":"last.safetensors@3f2a…","request_id":"…"}} (request_id: the
 * client's X-Request-Id header or x-request-id metadata, when sent): to standard output, to a file (appended), or nowhere.
 */
final class AccessLog implements AutoCloseable {
    private static final JsonFactory JSON = new JsonFactory();
    private final OutputStream out;
    private final boolean owned;
    private final MeterRegistry registry;

    private AccessLog(OutputStream out, boolean owned, MeterRegistry registry) {
        this.out = out;
        this.owned = owned;
        this.registry = registry;
    }

    /**
     * "-" is standard output; null logs nothing. Every request is also timed in {@code registry} as {@code
     * mae4j.server.requests} by protocol, endpoint and status, whether or not lines are written.
     */
    static AccessLog open(Path target, MeterRegistry registry) throws IOException {
        if (target == null) return new AccessLog(null, false, registry);
        if (target.toString().equals("-")) return new AccessLog(System.out, false, registry);
        return new AccessLog(new BufferedOutputStream(new FileOutputStream(target.toFile(), true)), true, registry);
    }

    void log(
            String protocol,
            String method,
            String path,
            String endpoint,
            String status,
            int images,
            long bytes,
            long startNanos,
            String remote,
            String modelId,
            String requestId) {
        Timer.builder("mae4j.server.requests")
                .description("HTTP and gRPC requests by endpoint and status")
                .tags("protocol", protocol, "endpoint", endpoint, "status", status)
                .register(registry)
                .record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
        if (out == null) return;
        ByteArrayOutputStream line = new ByteArrayOutputStream(256);
        try (JsonGenerator g = JSON.createGenerator(line)) {
            g.writeStartObject();
            g.writeStringField("time", Instant.now().toString());
            g.writeStringField("protocol", protocol);
            g.writeStringField("method", method);
            g.writeStringField("path", path);
            if (status.chars().allMatch(Character::isDigit)) g.writeNumberField("status", Integer.parseInt(status));
            else g.writeStringField("status", status);
            g.writeNumberField("images", images);
            g.writeNumberField("bytes", bytes);
            g.writeNumberField("ms", Math.round((System.nanoTime() - startNanos) / 1e4) / 100.0);
            g.writeStringField("remote", remote);
            if (modelId != null) g.writeStringField("model_id", modelId);
            if (requestId != null) g.writeStringField("request_id", requestId);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        line.write('\n');
        synchronized (this) {
            try {
                line.writeTo(out);
                out.flush();
            } catch (IOException e) {
                // a full disk or closed pipe must not fail requests; the line is lost
            }
        }
    }

    @Override
    public synchronized void close() throws IOException {
        if (owned) out.close();
        else if (out != null) out.flush();
    }
}
