package dev.mae4j.server;

import com.sun.net.httpserver.HttpServer;
import dev.mae4j.data.ImageHeader;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * An image-embedding server: an MAE encoder behind HTTP ({@link HttpApi}) and gRPC (mae4j/v1/embedding.proto, with the
 * standard health and reflection services), all requests meeting in one {@link dev.mae4j.serving.BatchingEncoder}.
 * {@link #start} listens at once (live: {@code /health}), loads the weights, then is ready ({@code /ready}, gRPC
 * health SERVING). {@link #close} drains: new requests are refused, every accepted one is answered, then the model
 * is freed. Nothing is written to disk but the access log.
 */
public final class EmbeddingServer implements AutoCloseable {
    // A client that trickles its body cannot hold a connection longer than this (the JDK server's own limit).
    static final String READ_TIMEOUT_PROPERTY = "sun.net.httpserver.maxReqTime";

    // gRPC's Netty would load its epoll transport by unpacking a native library into java.io.tmpdir on every start:
    // serving writes no file, so it uses the JDK's NIO transport (set to false before the first server to differ).
    static final String NO_NATIVE_TRANSPORT_PROPERTY = "io.grpc.netty.shaded.io.netty.transport.noNative";

    static {
        if (System.getProperty(READ_TIMEOUT_PROPERTY) == null) System.setProperty(READ_TIMEOUT_PROPERTY, "30");
        if (System.getProperty(NO_NATIVE_TRANSPORT_PROPERTY) == null)
            System.setProperty(NO_NATIVE_TRANSPORT_PROPERTY, "true");
    }

    private final ServerOptions options;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final JvmGcMetrics gcMetrics = new JvmGcMetrics();
    private final AccessLog accessLog;
    private final EmbeddingService service;
    private final HttpServer http;
    private final ExecutorService httpThreads = Executors.newVirtualThreadPerTaskExecutor();
    private final ExecutorService grpcThreads = Executors.newVirtualThreadPerTaskExecutor();
    private final Server grpc;
    private final HealthStatusManager health = new HealthStatusManager();
    private final CountDownLatch closed = new CountDownLatch(1);
    private final Consumer<String> report;
    private WeightsWatcher watcher;
    private boolean closing;

    private EmbeddingServer(Path weights, ServerOptions options, Consumer<String> report) throws IOException {
        this.options = options;
        this.report = report;
        new JvmMemoryMetrics().bindTo(registry);
        gcMetrics.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        this.accessLog = AccessLog.open(options.accessLog, registry);
        this.service = new EmbeddingService(weights, options, registry);
        this.http = HttpServer.create(new InetSocketAddress(options.host, options.httpPort), 1024);
        http.setExecutor(httpThreads);
        new HttpApi(service, registry, accessLog).register(http);
        health.setStatus("", ServingStatus.NOT_SERVING);
        health.setStatus("mae4j.v1.Embedder", ServingStatus.NOT_SERVING);
        this.grpc = options.grpcPort < 0
                ? null
                : NettyServerBuilder.forAddress(new InetSocketAddress(options.host, options.grpcPort))
                        .executor(grpcThreads)
                        .maxInboundMessageSize((int) Math.min(Integer.MAX_VALUE, options.maxBodyBytes + 1024))
                        .addService(io.grpc.ServerInterceptors.intercept(
                                new GrpcApi(service, this::grpcCall), GrpcApi.interceptor()))
                        .addService(health.getHealthService())
                        .addService(ProtoReflectionServiceV1.newInstance())
                        .build();
    }

    /**
     * Listens on the options' ports, loads {@code weights} and returns once ready. {@code report} receives one-line
     * notices (where it listens, reloads, the drain). Throws IOException when the weights cannot be read or a port
     * cannot be bound (nothing is left listening then).
     */
    public static EmbeddingServer start(Path weights, ServerOptions options, Consumer<String> report)
            throws IOException {
        if (weights == null || options == null || report == null)
            throw new IllegalArgumentException("weights, options and report must not be null");
        options.check();
        if (!Files.isRegularFile(weights)) throw new IOException("no weights file at " + weights);
        ImageHeader.setMaxPixels(options.maxImagePixels);
        EmbeddingServer s = new EmbeddingServer(weights, options, report);
        try {
            s.http.start();
            if (s.grpc != null) s.grpc.start();
            report.accept("listening: http://" + options.host + ":" + s.httpPort()
                    + (s.grpc == null ? "" : ", gRPC " + options.host + ":" + s.grpcPort()) + "; loading " + weights);
            s.service.load();
            s.health.setStatus("", ServingStatus.SERVING);
            s.health.setStatus("mae4j.v1.Embedder", ServingStatus.SERVING);
            if (options.watchInterval != null) s.watcher = new WeightsWatcher(s.service, options.watchInterval, report);
            report.accept("ready: " + s.service.modelId() + "; " + s.memoryBound());
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** The bound on what requests can hold at once, as the options set it. */
    String memoryBound() {
        long decodeScratch = options.decodeSlots * options.maxImagePixels * 4;
        return String.format(
                "requests hold at most %d MiB of bodies + %d MiB of images (at their decoded size) + %d decodes × %d MiB",
                options.bodyBytesInFlight >> 20,
                options.pixelBytesInFlight >> 20,
                options.decodeSlots,
                (decodeScratch / options.decodeSlots) >> 20);
    }

    public int httpPort() {
        return http.getAddress().getPort();
    }

    /** The gRPC port; -1 when gRPC is off. */
    public int grpcPort() {
        return grpc == null ? -1 : grpc.getPort();
    }

    /** The id of the model answering new requests. */
    public String modelId() {
        return service.modelId();
    }

    /** Reads the weights file again and swaps it in under load; returns the new model's id. */
    public String reload() throws IOException {
        return service.reload();
    }

    /** Blocks until {@link #close} has finished (for a main thread that waits for SIGTERM's hook). */
    public void awaitClosed() throws InterruptedException {
        closed.await();
    }

    private void grpcCall(GrpcApi.Call call, Status.Code code, int images, long bytes, String modelId) {
        accessLog.log(
                "grpc",
                "POST",
                "/mae4j.v1.Embedder/" + call.method(),
                call.method(),
                code.name(),
                images,
                bytes,
                call.startNanos(),
                call.remote(),
                modelId,
                call.requestId());
    }

    /**
     * Drains and stops: not ready at once (gRPC health NOT_SERVING, {@code /ready} 503), listeners closed, accepted
     * requests answered (for up to the drain timeout), then the model freed. Idempotent; a second caller waits for
     * the first.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closing) {
                try {
                    closed.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return;
            }
            closing = true;
        }
        try {
            if (watcher != null) watcher.close();
            service.drain();
            health.enterTerminalState();
            int drainSeconds = (int) Math.max(1, Math.min(Integer.MAX_VALUE, options.drainTimeout.toSeconds()));
            if (grpc != null) grpc.shutdown(); // no new calls; those running go on
            // Answers every accepted image now (a batch still waiting for more runs at once); requests that come
            // meanwhile get 503 / UNAVAILABLE.
            service.close();
            http.stop(drainSeconds); // closes the listener, then waits for the handlers to send their answers
            if (grpc != null) {
                try {
                    if (!grpc.awaitTermination(drainSeconds, TimeUnit.SECONDS)) grpc.shutdownNow();
                } catch (InterruptedException e) {
                    grpc.shutdownNow();
                    Thread.currentThread().interrupt();
                }
            }
            // http.stop returns once the answers have left; each handler logs its request after that, so the access
            // log closes only when the handlers have ended
            httpThreads.shutdown();
            grpcThreads.shutdown();
            try {
                httpThreads.awaitTermination(drainSeconds, TimeUnit.SECONDS);
                grpcThreads.awaitTermination(drainSeconds, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            gcMetrics.close();
            registry.close();
            try {
                accessLog.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            report.accept("stopped: every accepted request was answered");
        } finally {
            closed.countDown();
        }
    }
}
