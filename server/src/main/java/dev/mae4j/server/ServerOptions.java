package dev.mae4j.server;

import dev.mae4j.Device;
import dev.mae4j.Encoder;
import dev.mae4j.MaeConfig;
import java.nio.file.Path;
import java.time.Duration;

/**
 * What an {@link EmbeddingServer} listens on and the limits it keeps. Every limit has a safe default, so that a server
 * started with none set holds bounded memory under any load and any input:
 *
 * <ul>
 *   <li>request bodies: at most {@link #maxBodyBytes} each, {@link #bodyBytesInFlight} held at once;
 *   <li>images accepted and not yet answered: at most {@link #pixelBytesInFlight} bytes, counted at their decoded size
 *       (4-byte floats; a batch's images are decoded just before its encoder call);
 *   <li>decoding: {@link #decodeSlots} images at a time, each declaring at most {@link #maxImagePixels} pixels (checked
 *       in the header when the request arrives, before anything is queued);
 *   <li>a request past any of these is answered at once (413 or 503 / RESOURCE_EXHAUSTED), never queued without end.
 * </ul>
 *
 * Setters return this; {@link EmbeddingServer#start} checks the values.
 */
public final class ServerOptions {
    String host = "127.0.0.1";
    int httpPort = 8080;
    int grpcPort = 8081;
    int maxBatch = 16;
    Duration maxWait = Duration.ofMillis(2);
    Duration requestTimeout = Duration.ofSeconds(30);
    Duration drainTimeout = Duration.ofSeconds(30);
    Duration watchInterval;
    long maxBodyBytes = 16L << 20;
    long bodyBytesInFlight = 128L << 20;
    long pixelBytesInFlight = 128L << 20;
    long maxImagePixels = 25_000_000;
    int maxImagesPerRequest = 64;
    int decodeSlots = Math.min(4, Runtime.getRuntime().availableProcessors());
    Encoder.Output output = Encoder.Output.CLS;
    Path accessLog = Path.of("-");
    boolean bf16;
    Device device = Device.cpu();
    MaeConfig architecture;

    public static ServerOptions defaults() {
        return new ServerOptions();
    }

    /** The address both protocols bind: 127.0.0.1 by default (0.0.0.0 serves every interface). */
    public ServerOptions host(String h) {
        host = h;
        return this;
    }

    /** HTTP port; 0 picks a free one. Default 8080. */
    public ServerOptions httpPort(int p) {
        httpPort = p;
        return this;
    }

    /** gRPC port; 0 picks a free one, -1 serves no gRPC. Default 8081. */
    public ServerOptions grpcPort(int p) {
        grpcPort = p;
        return this;
    }

    /** Largest batch of images one encoder call takes. Default 16. */
    public ServerOptions maxBatch(int n) {
        maxBatch = n;
        return this;
    }

    /** Longest a batch waits for more images after its first. Default 2 ms. */
    public ServerOptions maxWait(Duration d) {
        maxWait = d;
        return this;
    }

    /** Longest a request may wait for its answer, and the cap on a deadline a client asks for. Default 30 s. */
    public ServerOptions requestTimeout(Duration d) {
        requestTimeout = d;
        return this;
    }

    /** On close (SIGTERM): how long accepted requests may take to be answered. Default 30 s. */
    public ServerOptions drainTimeout(Duration d) {
        drainTimeout = d;
        return this;
    }

    /** Reload the weights when their file changes, checked this often; null (the default) watches nothing. */
    public ServerOptions watchInterval(Duration d) {
        watchInterval = d;
        return this;
    }

    /** Largest request body. Default 16 MiB. */
    public ServerOptions maxBodyBytes(long n) {
        maxBodyBytes = n;
        return this;
    }

    /** Request bodies held at once, in bytes. Default 128 MiB. */
    public ServerOptions bodyBytesInFlight(long n) {
        bodyBytesInFlight = n;
        return this;
    }

    /** Images accepted and not yet answered, counted at their decoded size (4-byte floats), in bytes. Default 128 MiB. */
    public ServerOptions pixelBytesInFlight(long n) {
        pixelBytesInFlight = n;
        return this;
    }

    /** Largest image, width × height as its header declares it: larger ones are refused before decoding. Default 25 M. */
    public ServerOptions maxImagePixels(long n) {
        maxImagePixels = n;
        return this;
    }

    /** Most images in one batch request. Default 64. */
    public ServerOptions maxImagesPerRequest(int n) {
        maxImagesPerRequest = n;
        return this;
    }

    /**
     * Threads that decode a batch's images, between encoder calls (so decoding never competes with the encoder's
     * threads). Default: the cores, at most 4.
     */
    public ServerOptions decodeSlots(int n) {
        decodeSlots = n;
        return this;
    }

    /** CLS (default) or MEAN features. */
    public ServerOptions output(Encoder.Output o) {
        output = o;
        return this;
    }

    /** JSON lines, one per request: a file (appended), "-" for standard output (the default), or null for none. */
    public ServerOptions accessLog(Path p) {
        accessLog = p;
        return this;
    }

    /** Run the encoder in bf16 (on CPUs with bf16 units; weights trained in bf16 are served so anyway). */
    public ServerOptions bf16(boolean on) {
        bf16 = on;
        return this;
    }

    /** Where the encoder runs: the CPU (default) or a CUDA device. */
    public ServerOptions device(Device d) {
        device = d;
        return this;
    }

    /**
     * The architecture of weights that record none (e.g. the official .pth checkpoints); null (the default) reads it
     * from the weights.
     */
    public ServerOptions architecture(MaeConfig c) {
        architecture = c;
        return this;
    }

    void check() {
        if (device == null) throw new IllegalArgumentException("device must be set");
        if (host == null || host.isBlank()) throw new IllegalArgumentException("host must be set");
        if (httpPort < 0 || httpPort > 65535)
            throw new IllegalArgumentException("the HTTP port must be in [0, 65535], got " + httpPort);
        if (grpcPort < -1 || grpcPort > 65535)
            throw new IllegalArgumentException("the gRPC port must be in [0, 65535] or -1 (none), got " + grpcPort);
        if (maxBatch < 1) throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        positive(maxWait, "maxWait", true);
        positive(requestTimeout, "requestTimeout", false);
        positive(drainTimeout, "drainTimeout", true);
        if (watchInterval != null) positive(watchInterval, "watchInterval", false);
        if (maxBodyBytes < 1 || maxBodyBytes > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("maxBodyBytes must be in [1, 2^31 - 9], got " + maxBodyBytes);
        if (bodyBytesInFlight < maxBodyBytes || bodyBytesInFlight > Integer.MAX_VALUE)
            throw new IllegalArgumentException("bodyBytesInFlight must be in [maxBodyBytes (" + maxBodyBytes
                    + "), 2^31 - 1], got " + bodyBytesInFlight);
        if (pixelBytesInFlight < 1 || pixelBytesInFlight > Integer.MAX_VALUE)
            throw new IllegalArgumentException(
                    "pixelBytesInFlight must be in [1, 2^31 - 1], got " + pixelBytesInFlight);
        if (maxImagePixels < 1)
            throw new IllegalArgumentException("maxImagePixels must be >= 1, got " + maxImagePixels);
        if (maxImagesPerRequest < 1)
            throw new IllegalArgumentException("maxImagesPerRequest must be >= 1, got " + maxImagesPerRequest);
        if (decodeSlots < 1) throw new IllegalArgumentException("decodeSlots must be >= 1, got " + decodeSlots);
        if (output == null || output == Encoder.Output.TOKENS)
            throw new IllegalArgumentException("output must be CLS or MEAN, got " + output);
    }

    private static void positive(Duration d, String name, boolean zeroAllowed) {
        if (d == null || d.isNegative() || (!zeroAllowed && d.isZero()))
            throw new IllegalArgumentException(
                    name + " must be " + (zeroAllowed ? "zero or " : "") + "positive, got " + d);
    }
}
