package dev.mae4j.examples.service;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.mae4j.Device;
import dev.mae4j.Encoder;
import dev.mae4j.data.ImageDecoder;
import dev.mae4j.data.ImageTooLargeException;
import dev.mae4j.serving.BatchingEncoder;
import dev.mae4j.serving.EncoderMetrics;
import dev.mae4j.serving.EncoderOverloadedException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * POST /embed with a PNG or JPEG body returns {"embedding": [...], "dim": D} — the encoder's features of the
 * image resized and centre-cropped to the model's input size (the reference's evaluation transform). Requests run
 * on virtual threads and meet in mae4j's {@link BatchingEncoder}.
 * GET /health answers "ok".
 *
 * <pre>java -cp ... dev.mae4j.examples.service.EmbeddingServer WEIGHTS [PORT] [MAX_BATCH] [MAX_WAIT_MICROS]</pre>
 */
public final class EmbeddingServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_BODY = 20 << 20;
    // Request bodies held at once, in bytes: past it new requests wait briefly, then get 503.
    private static final long BODY_BYTES_IN_FLIGHT = 256L << 20;
    // Decoded images waiting for the encoder, in bytes.
    private static final long QUEUED_BYTES = 256L << 20;
    // A client that trickles its body cannot hold a connection longer than this (the JDK server's own limit).
    static final String READ_TIMEOUT_PROPERTY = "sun.net.httpserver.maxReqTime";

    static {
        if (System.getProperty(READ_TIMEOUT_PROPERTY) == null) System.setProperty(READ_TIMEOUT_PROPERTY, "30");
    }

    private final Semaphore bodyBytes = new Semaphore((int) Math.min(Integer.MAX_VALUE, BODY_BYTES_IN_FLIGHT));
    // Decoding allocates the most (up to the pixel budget's worth): one decode per core at a time.
    private final Semaphore decodes = new Semaphore(Runtime.getRuntime().availableProcessors());

    private final Encoder encoder;
    private final BatchingEncoder batcher;
    private final BatchStats stats = new BatchStats();
    private final HttpServer server;
    private final ImageDecoder decoder;

    /** Serves {@code encoder} on 127.0.0.1:{@code port} (0 picks a free port). */
    public EmbeddingServer(Encoder encoder, int port, int maxBatch, long maxWaitMicros) throws IOException {
        this.encoder = encoder;
        this.batcher = BatchingEncoder.builder(encoder)
                .maxBatch(maxBatch)
                .maxWait(Duration.ofNanos(maxWaitMicros * 1000))
                .maxQueuedImages(4096)
                .maxQueuedBytes(QUEUED_BYTES)
                .metrics(stats)
                .build();
        // normalised as the weights were trained: what they record (or the default for their channel count)
        this.decoder =
                new ImageDecoder(encoder.config().imgSize(), encoder.config().inChans(), encoder.preprocessing());
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 256);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/embed", this::embed);
        server.createContext("/health", ex -> respond(ex, 200, "text/plain", "ok".getBytes(StandardCharsets.UTF_8)));
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** Mean images per encoder call so far. */
    public double meanBatchSize() {
        return stats.meanBatchSize();
    }

    /** Counts batches and their images. */
    private static final class BatchStats implements EncoderMetrics {
        private long batches, images;

        @Override
        public synchronized void batch(int n, Duration duration) {
            batches++;
            images += n;
        }

        synchronized double meanBatchSize() {
            return batches == 0 ? 0 : (double) images / batches;
        }
    }

    /** The normalised input the server computes for an image file: what a caller can check vectors against. */
    public float[] preprocess(Path imageFile) throws IOException {
        return preprocess(Files.readAllBytes(imageFile), imageFile.toString());
    }

    private float[] preprocess(byte[] image, String name) throws IOException {
        float[] x = new float[decoder.imageFloats()];
        decoder.decode(image, name, x, 0);
        return x;
    }

    private void embed(HttpExchange ex) throws IOException {
        try (ex) {
            if (!ex.getRequestMethod().equals("POST")) {
                error(ex, 405, "POST an image");
                return;
            }
            long declared = ex.getRequestHeaders().getFirst("Content-Length") == null
                    ? MAX_BODY
                    : parseLength(ex.getRequestHeaders().getFirst("Content-Length"));
            if (declared < 0 || declared > MAX_BODY) {
                error(ex, 413, "images up to " + MAX_BODY + " bytes");
                return;
            }
            int permits = (int) Math.max(1, declared);
            if (!acquire(bodyBytes, permits, 2)) {
                error(ex, 503, "too many request bytes in flight; retry later");
                return;
            }
            float[] x;
            try {
                byte[] body = ex.getRequestBody().readNBytes(MAX_BODY + 1);
                if (body.length > MAX_BODY) {
                    error(ex, 413, "images up to " + MAX_BODY + " bytes");
                    return;
                }
                x = decodeLimited(ex, body);
                if (x == null) return;
            } finally {
                bodyBytes.release(permits);
            }
            float[] v;
            try {
                v = batcher.submit(x).get();
            } catch (EncoderOverloadedException e) {
                error(ex, 503, e.getMessage());
                return;
            } catch (ExecutionException e) {
                error(ex, 500, String.valueOf(e.getCause().getMessage()));
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                error(ex, 503, "interrupted");
                return;
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("dim", v.length);
            out.put("embedding", v);
            respond(ex, 200, "application/json", JSON.writeValueAsBytes(out));
        }
    }

    // The request's pixels, or null once an error was sent: 413 for a bomb (its header over the pixel budget, refused
    // before any decoding), 400 for a body that is no readable image, 503 when every decode slot stays busy.
    private float[] decodeLimited(HttpExchange ex, byte[] body) throws IOException {
        if (!acquire(decodes, 1, 5)) {
            error(ex, 503, "every decoder is busy; retry later");
            return null;
        }
        try {
            return preprocess(body, "the request body"); // decoded in memory: no file is written
        } catch (ImageTooLargeException e) {
            error(ex, 413, e.getMessage());
            return null;
        } catch (IOException | RuntimeException e) {
            error(ex, 400, "not a readable PNG or JPEG image: " + e.getMessage());
            return null;
        } finally {
            decodes.release();
        }
    }

    private static boolean acquire(Semaphore s, int permits, long seconds) {
        try {
            return s.tryAcquire(permits, seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static long parseLength(String header) {
        try {
            return Long.parseLong(header.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static void error(HttpExchange ex, int code, String message) throws IOException {
        respond(ex, code, "application/json", JSON.writeValueAsBytes(Map.of("error", message)));
    }

    private static void respond(HttpExchange ex, int code, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(code, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    /** Stops accepting connections, then the batcher, which answers what it accepted and closes the encoder. */
    @Override
    public void close() {
        server.stop(0);
        batcher.close();
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: EmbeddingServer WEIGHTS [PORT] [MAX_BATCH] [MAX_WAIT_MICROS]");
            System.exit(2);
        }
        Encoder encoder = Encoder.load(Path.of(args[0]), Device.cpu());
        if (!encoder.preprocessing().recorded())
            System.err.println("notice: " + encoder.preprocessing().notice(args[0]));
        int port = args.length > 1 ? Integer.parseInt(args[1]) : 8080;
        int maxBatch = args.length > 2 ? Integer.parseInt(args[2]) : 32;
        long waitMicros = args.length > 3 ? Long.parseLong(args[3]) : 2000;
        EmbeddingServer s = new EmbeddingServer(encoder, port, maxBatch, waitMicros);
        System.out.printf(
                "serving %s on http://127.0.0.1:%d/embed (micro-batches up to %d, waiting up to %d µs)%n",
                args[0], s.port(), maxBatch, waitMicros);
    }
}
