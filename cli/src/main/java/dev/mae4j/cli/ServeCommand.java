package dev.mae4j.cli;

import dev.mae4j.Device;
import dev.mae4j.Encoder;
import dev.mae4j.Library;
import dev.mae4j.MaeConfig;
import dev.mae4j.server.EmbeddingServer;
import dev.mae4j.server.ServerOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import sun.misc.Signal;

/**
 * `mae serve`: the encoder of a weights file behind HTTP and gRPC until SIGTERM (or Ctrl-C, SIGHUP), which drains:
 * every accepted request is answered, then the process exits with status 0.
 */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        showDefaultValues = true,
        description = {
            "Serves an MAE encoder: POST /embed (a PNG/JPEG body, or JSON {\"image\": base64} / {\"images\": [...]}), "
                    + "gRPC mae4j.v1.Embedder (server/src/main/proto), GET /health, /ready, /info, /metrics "
                    + "(Prometheus), POST /admin/reload. SIGTERM or Ctrl-C drains, then exits 0.",
            "Durations: 500us, 2ms, 30s, 1m."
        })
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Mixin
    EncoderWeightsOptions source = new EncoderWeightsOptions();

    @Option(names = "--host", description = "Address to bind (0.0.0.0: every interface).")
    String host = "127.0.0.1";

    @Option(names = "--port", description = "HTTP port (0: any free one).")
    int port = 8080;

    @Option(names = "--grpc-port", description = "gRPC port (0: any free one; -1: no gRPC).")
    int grpcPort = 8081;

    @Option(names = "--max-batch", description = "Largest batch of images one encoder call takes.")
    int maxBatch = 16;

    @Option(names = "--max-wait", description = "Longest a batch waits for more images after its first.")
    String maxWait = "2ms";

    @Option(
            names = "--request-timeout",
            description = "Longest a request waits for its answer (and the cap on a client's deadline).")
    String requestTimeout = "30s";

    @Option(names = "--drain-timeout", description = "On SIGTERM, how long accepted requests may take to be answered.")
    String drainTimeout = "30s";

    @Option(
            names = "--watch",
            description = "Reload the weights when their file changes, checked this often (off by default).")
    String watch;

    @Option(names = "--max-body-mib", description = "Largest request body, MiB.")
    long maxBodyMib = 16;

    @Option(names = "--body-mib-in-flight", description = "Request bodies held at once, MiB.")
    long bodyMibInFlight = 128;

    @Option(
            names = "--pixel-mib-in-flight",
            description = "Images accepted and not yet answered, counted at their decoded size, MiB.")
    long pixelMibInFlight = 128;

    @Option(
            names = "--max-image-pixels",
            description = "Largest image (width × height in its header); larger ones get 413 before decoding.")
    long maxImagePixels = 25_000_000;

    @Option(names = "--max-images-per-request", description = "Most images in one batch request.")
    int maxImagesPerRequest = 64;

    @Option(
            names = "--decode-slots",
            description = "Threads that decode a batch's images between encoder calls (default: the cores, at most 4).")
    Integer decodeSlots;

    @Option(names = "--output", description = "cls ([CLS] token) or mean (mean of the patch tokens).")
    String output = "cls";

    @Option(names = "--access-log", description = "JSON lines, one per request: a file, - (standard output) or none.")
    String accessLog = "-";

    @Option(names = "--bf16", description = "Run the encoder in bf16 (CPUs with bf16 units).")
    boolean bf16;

    @Option(names = "--threads", description = "Threads for the encoder's kernels (default: the cores).")
    Integer threads;

    @Option(names = "--device", description = "cpu, cuda or cuda:N.")
    String device = "cpu";

    @Override
    public Integer call() throws Exception {
        OptionChecks check = new OptionChecks(spec);
        check.positive("--max-batch", maxBatch);
        check.positive("--max-body-mib", maxBodyMib);
        check.positive("--body-mib-in-flight", bodyMibInFlight);
        check.positive("--pixel-mib-in-flight", pixelMibInFlight);
        if (threads != null) {
            check.positive("--threads", threads);
            Library.setThreads(threads);
        }
        Encoder.Output kind = switch (output.toLowerCase(Locale.ROOT)) {
            case "cls" -> Encoder.Output.CLS;
            case "mean" -> Encoder.Output.MEAN;
            default -> throw new ParameterException(spec.commandLine(), "--output must be cls or mean, got " + output);
        };
        ServerOptions o = ServerOptions.defaults()
                .host(host)
                .httpPort(port)
                .grpcPort(grpcPort)
                .maxBatch(maxBatch)
                .maxWait(duration("--max-wait", maxWait))
                .requestTimeout(duration("--request-timeout", requestTimeout))
                .drainTimeout(duration("--drain-timeout", drainTimeout))
                .watchInterval(watch == null ? null : duration("--watch", watch))
                .maxBodyBytes(maxBodyMib << 20)
                .bodyBytesInFlight(bodyMibInFlight << 20)
                .pixelBytesInFlight(pixelMibInFlight << 20)
                .maxImagePixels(maxImagePixels)
                .maxImagesPerRequest(maxImagesPerRequest)
                .output(kind)
                .accessLog(accessLog.equals("none") ? null : Path.of(accessLog))
                .bf16(bf16)
                .device(Device.parse(device))
                .architecture(source.preset == null ? null : MaeConfig.preset(source.preset));
        if (decodeSlots != null) o.decodeSlots(decodeSlots);
        // SIGTERM, SIGINT (Ctrl-C) and SIGHUP are taken from the JVM, whose own handling starts its shutdown, during
        // which
        // mae4j starts no native call (NativeCalls) and so could answer nothing: the signal starts the drain instead,
        // and the command returns (exit status 0) once every accepted request has its answer.
        CountDownLatch stop = new CountDownLatch(1);
        for (String name : new String[] {"TERM", "INT", "HUP"}) Signal.handle(new Signal(name), s -> stop.countDown());
        // notices on stderr: stdout carries the access log
        EmbeddingServer server =
                EmbeddingServer.start(source.weights, o, line -> System.err.println("mae serve: " + line));
        stop.await();
        System.err.println("mae serve: signal received: draining");
        server.close();
        return 0;
    }

    /** "500us", "2ms", "30s", "1m" (or an ISO-8601 duration, e.g. PT30S). */
    private Duration duration(String option, String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.startsWith("pt")) return Duration.parse(text.trim());
            if (t.endsWith("us")) return Duration.ofNanos(1000 * Long.parseLong(t.substring(0, t.length() - 2)));
            if (t.endsWith("ms")) return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
            if (t.endsWith("s")) return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)));
            if (t.endsWith("m")) return Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1)));
        } catch (NumberFormatException | java.time.DateTimeException e) {
            // below
        }
        throw new ParameterException(
                spec.commandLine(), option + " takes a duration such as 500us, 2ms, 30s or 1m, got '" + text + "'");
    }
}
