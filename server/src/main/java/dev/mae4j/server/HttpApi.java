package dev.mae4j.server;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.mae4j.MaeConfig;
import dev.mae4j.serving.Embedding;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The HTTP side of the server, on the JDK's HTTP server with a virtual thread per request:
 *
 * <ul>
 *   <li>{@code POST /embed} — a raw image body (any Content-Type but JSON), or JSON {@code {"image": BASE64}}
 *       → {@code {"model_id", "dim", "embedding": [...]}}; JSON {@code {"images": [BASE64, ...]}} → {@code {"dim",
 *       "data": [{"index", "model_id", "embedding"}, ...]}}. Header {@code X-Request-Timeout-Ms} shortens the
 *       deadline; {@code X-Request-Id} is echoed and logged. Errors: {@code {"error": message}} with 400 (no image), 405, 413 (body or image too large), 503
 *       (overloaded, loading or draining; with Retry-After), 504 (deadline passed).
 *   <li>{@code GET /health} — 200 while the process serves at all; {@code GET /ready} — 200 once the model is loaded,
 *       503 while loading or draining; {@code GET /info} — the model; {@code GET /metrics} — Prometheus text.
 *   <li>{@code POST /admin/reload} — reads the weights file again and swaps it in under load (409 while another
 *       reload runs, 422 when the new weights do not fit the served ones; the old model stays on any failure).
 * </ul>
 *
 * The access log and metrics give each request the status it was answered with, or 499 when its connection broke
 * before the request was read or before the answer left.
 */
final class HttpApi {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
    /**
     * The status logged for a request whose connection broke before it was read or before its answer left (nginx's
     * "client closed request"); never sent.
     */
    static final int CONNECTION_LOST = 499;

    private final EmbeddingService service;
    private final PrometheusMeterRegistry registry;
    private final AccessLog log;
    private final ServerOptions options;
    private final Semaphore bodyBytes;

    HttpApi(EmbeddingService service, PrometheusMeterRegistry registry, AccessLog log) {
        this.service = service;
        this.registry = registry;
        this.log = log;
        this.options = service.options();
        this.bodyBytes = new Semaphore((int) options.bodyBytesInFlight);
    }

    void register(HttpServer server) {
        server.createContext("/embed", ex -> handle(ex, "/embed", this::embed));
        server.createContext(
                "/health", ex -> handle(ex, "/health", e -> get(e, () -> reply(200, Map.of("status", "ok")))));
        server.createContext("/ready", ex -> handle(ex, "/ready", e -> get(e, this::ready)));
        server.createContext("/info", ex -> handle(ex, "/info", e -> get(e, this::info)));
        server.createContext(
                "/metrics",
                ex -> handle(
                        ex,
                        "/metrics",
                        e -> get(
                                e,
                                () -> new Reply(
                                        200,
                                        PROMETHEUS_TEXT,
                                        registry.scrape().getBytes(StandardCharsets.UTF_8),
                                        0,
                                        null))));
        server.createContext("/admin/reload", ex -> handle(ex, "/admin/reload", this::reload));
    }

    /** A response: status, content type, body, images answered, the model that answered. */
    private record Reply(int status, String type, byte[] body, int images, String modelId) {}

    private interface Handler {
        Reply handle(HttpExchange ex) throws IOException, RequestError;
    }

    private interface Getter {
        Reply get() throws IOException;
    }

    private void handle(HttpExchange ex, String endpoint, Handler h) throws IOException {
        long start = System.nanoTime();
        try (ex) {
            Reply r;
            if (!ex.getRequestURI().getPath().equals(endpoint))
                r = error(404, "no such endpoint: " + ex.getRequestURI().getPath());
            else {
                try {
                    r = h.handle(ex);
                } catch (RequestError e) {
                    r = error(e.kind.http, e.getMessage());
                } catch (RuntimeException e) {
                    r = error(500, "internal error: " + e);
                } catch (IOException e) {
                    // the connection broke before the request was read (the client went away, a read timeout, the
                    // server stopping): nothing can be answered
                    r = new Reply(CONNECTION_LOST, "text/plain", new byte[0], 0, null);
                }
            }
            int logged = r.status;
            String requestId = requestId(ex.getRequestHeaders().getFirst("X-Request-Id"));
            try {
                if (r.status != CONNECTION_LOST) {
                    if (r.status >= 400) drain(ex.getRequestBody());
                    if (r.status == 503) ex.getResponseHeaders().set("Retry-After", "1");
                    if (requestId != null) ex.getResponseHeaders().set("X-Request-Id", requestId);
                    ex.getResponseHeaders().set("Content-Type", r.type);
                    ex.sendResponseHeaders(r.status, r.body.length == 0 ? -1 : r.body.length);
                    try (OutputStream out = ex.getResponseBody()) {
                        out.write(r.body);
                    }
                }
            } catch (IOException e) {
                logged = CONNECTION_LOST; // the answer did not leave: the log must not say it was given
            } finally {
                long length = parseLength(ex.getRequestHeaders().getFirst("Content-Length"));
                log.log(
                        "http",
                        ex.getRequestMethod(),
                        ex.getRequestURI().getPath(),
                        endpoint,
                        String.valueOf(logged),
                        r.images,
                        Math.max(0, length),
                        start,
                        ex.getRemoteAddress().getAddress().getHostAddress(),
                        r.modelId,
                        requestId);
            }
        }
    }

    /** A client's request id, as logged and echoed: at most 128 printable ASCII characters, else none. */
    static String requestId(String header) {
        if (header == null || header.isEmpty() || header.length() > 128) return null;
        return header.chars().allMatch(c -> c > 32 && c < 127) ? header : null;
    }

    /**
     * Reads and drops what is left of a refused request's body, up to four times the body limit, in a small buffer: a
     * server that answers and closes while the client still sends makes the client's TCP stack drop the answer.
     */
    private void drain(InputStream body) {
        try {
            byte[] buf = new byte[64 * 1024];
            long left = 4 * options.maxBodyBytes;
            for (int n; left > 0 && (n = body.read(buf, 0, (int) Math.min(buf.length, left))) >= 0; ) left -= n;
        } catch (IOException e) {
            // the client went away: nothing to drain
        }
    }

    private static Reply get(HttpExchange ex, Getter g) throws IOException {
        if (!ex.getRequestMethod().equals("GET") && !ex.getRequestMethod().equals("HEAD")) return error(405, "use GET");
        return g.get();
    }

    private Reply ready() throws IOException {
        String id = service.modelId();
        if (!service.ready()) return reply(503, Map.of("status", service.state()));
        return reply(200, Map.of("status", "ready", "model_id", id));
    }

    private Reply info() throws IOException {
        MaeConfig c = service.config();
        if (c == null) return reply(503, Map.of("status", service.state()));
        return reply(
                200,
                Map.of(
                        "model_id", service.modelId(),
                        "dim", c.embedDim(),
                        "image_size", c.imgSize(),
                        "channels", c.inChans(),
                        "max_batch", options.maxBatch,
                        "max_images_per_request", options.maxImagesPerRequest,
                        "max_body_bytes", options.maxBodyBytes,
                        "output", options.output.name()));
    }

    private Reply reload(HttpExchange ex) throws IOException {
        if (!ex.getRequestMethod().equals("POST")) return error(405, "use POST");
        try {
            return reply(200, Map.of("model_id", service.reload()));
        } catch (IllegalStateException e) {
            return error(409, e.getMessage());
        } catch (IllegalArgumentException e) {
            return error(422, e.getMessage());
        } catch (IOException e) {
            return error(500, "could not read " + service.weights() + ": " + e.getMessage());
        }
    }

    private Reply embed(HttpExchange ex) throws IOException, RequestError {
        if (!ex.getRequestMethod().equals("POST")) return error(405, "POST an image");
        Duration timeout = timeout(ex.getRequestHeaders().getFirst("X-Request-Timeout-Ms"));
        String lengthHeader = ex.getRequestHeaders().getFirst("Content-Length");
        long declared = lengthHeader == null ? options.maxBodyBytes : parseLength(lengthHeader);
        if (declared < 0) return error(400, "Content-Length is not a number: " + lengthHeader);
        if (declared > options.maxBodyBytes) return tooLarge();
        int permits = (int) Math.max(1, declared);
        try {
            if (!bodyBytes.tryAcquire(permits, 2, TimeUnit.SECONDS))
                throw new RequestError(RequestError.Kind.OVERLOADED, "too many request bytes in flight; retry later");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RequestError(RequestError.Kind.UNAVAILABLE, "interrupted");
        }
        List<CompletableFuture<Embedding>> futures;
        boolean batch;
        try {
            byte[] body = readBounded(ex.getRequestBody(), lengthHeader == null ? -1 : declared);
            if (body == null) return tooLarge();
            String type = ex.getRequestHeaders().getFirst("Content-Type");
            List<byte[]> images = new ArrayList<>();
            List<String> names = new ArrayList<>();
            batch = isJson(type) && parseJson(body, images, names);
            if (!isJson(type)) {
                images.add(body);
                names.add("the request body");
            }
            futures = service.embedAll(images, names, timeout);
        } finally {
            bodyBytes.release(permits);
        }
        List<Embedding> answers = new ArrayList<>(futures.size());
        long until = System.nanoTime() + timeout.toNanos() + TimeUnit.SECONDS.toNanos(1);
        for (CompletableFuture<Embedding> f : futures) {
            try {
                answers.add(f.get(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS));
            } catch (ExecutionException e) {
                throw EmbeddingService.failure(e.getCause());
            } catch (TimeoutException e) {
                futures.forEach(x -> x.cancel(false));
                throw new RequestError(RequestError.Kind.DEADLINE, "no answer within " + timeout.toMillis() + " ms");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RequestError(RequestError.Kind.UNAVAILABLE, "interrupted");
            }
        }
        return embeddings(answers, batch);
    }

    private Reply embeddings(List<Embedding> answers, boolean batch) throws IOException {
        ByteArrayOutputStream out =
                new ByteArrayOutputStream(answers.size() * answers.get(0).vector().length * 12 + 64);
        try (JsonGenerator g = JSON.getFactory().createGenerator(out)) {
            g.writeStartObject();
            if (!batch) {
                Embedding e = answers.get(0);
                g.writeStringField("model_id", e.modelId());
                g.writeNumberField("dim", e.vector().length);
                g.writeFieldName("embedding");
                vector(g, e.vector());
            } else {
                g.writeNumberField("dim", answers.get(0).vector().length);
                g.writeArrayFieldStart("data");
                for (int i = 0; i < answers.size(); i++) {
                    g.writeStartObject();
                    g.writeNumberField("index", i);
                    g.writeStringField("model_id", answers.get(i).modelId());
                    g.writeFieldName("embedding");
                    vector(g, answers.get(i).vector());
                    g.writeEndObject();
                }
                g.writeEndArray();
            }
            g.writeEndObject();
        }
        return new Reply(
                200,
                "application/json",
                out.toByteArray(),
                answers.size(),
                answers.get(0).modelId());
    }

    private static void vector(JsonGenerator g, float[] v) throws IOException {
        g.writeStartArray();
        for (float x : v) g.writeNumber(x);
        g.writeEndArray();
    }

    /** JSON {"image": b64} (false) or {"images": [b64, ...]} (true), decoded into images. */
    private boolean parseJson(byte[] body, List<byte[]> images, List<String> names) throws RequestError {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new RequestError(RequestError.Kind.BAD_REQUEST, "the body is not JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new RequestError(RequestError.Kind.BAD_REQUEST, "the body is not JSON: " + e.getMessage());
        }
        if (root != null && root.has("image") && root.get("image").isTextual()) {
            images.add(base64(root.get("image").asText(), "image"));
            names.add("image");
            return false;
        }
        if (root != null && root.has("images") && root.get("images").isArray()) {
            JsonNode list = root.get("images");
            if (list.isEmpty()) throw new RequestError(RequestError.Kind.BAD_REQUEST, "images is empty");
            if (list.size() > options.maxImagesPerRequest)
                throw new RequestError(
                        RequestError.Kind.BAD_REQUEST,
                        list.size() + " images in one request, the limit is " + options.maxImagesPerRequest);
            for (int i = 0; i < list.size(); i++) {
                if (!list.get(i).isTextual())
                    throw new RequestError(RequestError.Kind.BAD_REQUEST, "images[" + i + "] is not a base64 string");
                images.add(base64(list.get(i).asText(), "images[" + i + "]"));
                names.add("images[" + i + "]");
            }
            return true;
        }
        throw new RequestError(
                RequestError.Kind.BAD_REQUEST,
                "a JSON body is {\"image\": \"<base64>\"} or {\"images\": [\"<base64>\", ...]}");
    }

    // Standard base64 (line breaks allowed); a data URL's "data:image/png;base64," prefix is skipped.
    private static byte[] base64(String s, String name) throws RequestError {
        int comma = s.startsWith("data:") ? s.indexOf(',') : -1;
        try {
            return Base64.getDecoder().decode((comma >= 0 ? s.substring(comma + 1) : s).replaceAll("[\\r\\n]", ""));
        } catch (IllegalArgumentException e) {
            throw new RequestError(RequestError.Kind.BAD_REQUEST, name + " is not base64: " + e.getMessage());
        }
    }

    private static boolean isJson(String contentType) {
        return contentType != null
                && contentType.toLowerCase(java.util.Locale.ROOT).startsWith("application/json");
    }

    private Duration timeout(String header) throws RequestError {
        if (header == null) return options.requestTimeout;
        long ms = parseLength(header);
        if (ms < 1)
            throw new RequestError(
                    RequestError.Kind.BAD_REQUEST, "X-Request-Timeout-Ms must be a positive integer, got " + header);
        Duration d = Duration.ofMillis(ms);
        return d.compareTo(options.requestTimeout) < 0 ? d : options.requestTimeout;
    }

    // The body, or null past maxBodyBytes (read no further). A declared length is read into one array of that size,
    // so that a body costs its own bytes and no growing copies.
    private byte[] readBounded(InputStream in, long declared) throws IOException {
        if (declared >= 0) {
            byte[] body = new byte[(int) declared];
            int n = in.readNBytes(body, 0, body.length);
            if (n < body.length) throw new IOException("the body ended after " + n + " of " + declared + " bytes");
            return body;
        }
        byte[] body = in.readNBytes((int) options.maxBodyBytes + 1);
        return body.length > options.maxBodyBytes ? null : body;
    }

    private Reply tooLarge() throws IOException {
        return error(413, "request bodies up to " + options.maxBodyBytes + " bytes");
    }

    private static long parseLength(String header) {
        if (header == null) return -1;
        try {
            return Long.parseLong(header.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static Reply reply(int status, Map<String, ?> body) throws IOException {
        return new Reply(status, "application/json", JSON.writeValueAsBytes(body), 0, null);
    }

    private static Reply error(int status, String message) throws IOException {
        return reply(status, Map.of("error", message));
    }
}
