package dev.mae4j.server;

import dev.mae4j.MaeConfig;
import dev.mae4j.Preprocessing;
import dev.mae4j.data.ImageDecoder;
import dev.mae4j.data.ImageHeader;
import dev.mae4j.data.ImageTooLargeException;
import dev.mae4j.serving.BatchingEncoder;
import dev.mae4j.serving.DeadlineExceededException;
import dev.mae4j.serving.Embedding;
import dev.mae4j.serving.EncoderOverloadedException;
import dev.mae4j.serving.MicrometerEncoderMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * What both protocols share: encoded images, their headers checked against the pixel budget, within the bound on
 * images in flight, to the {@link BatchingEncoder} (whose worker decodes each batch); loading and reloading the
 * weights; readiness. Requests meet in one batcher whichever
 * protocol they came by.
 */
final class EmbeddingService implements AutoCloseable {
    /** The model being served, with the decoder its preprocessing needs. */
    private record Served(
            BatchingEncoder batcher, ImageDecoder decoder, MaeConfig config, Preprocessing preprocessing) {}

    private final Path weights;
    private final ServerOptions options;
    private final MeterRegistry registry;
    private final Semaphore pixelBytes;
    private final ReentrantLock reloading = new ReentrantLock();
    private final Counter reloads, reloadFailures;
    private volatile Served served;
    private volatile boolean draining;

    EmbeddingService(Path weights, ServerOptions options, MeterRegistry registry) {
        this.weights = weights;
        this.options = options;
        this.registry = registry;
        this.pixelBytes = new Semaphore((int) options.pixelBytesInFlight);
        this.reloads = Counter.builder("mae4j.server.reloads")
                .description("weights reloaded")
                .register(registry);
        this.reloadFailures = Counter.builder("mae4j.server.reload.failures")
                .description("reloads refused or failed; the previous weights stayed")
                .register(registry);
        Gauge.builder("mae4j.server.ready", () -> ready() ? 1 : 0)
                .description("1 when a model is loaded and the server is not draining")
                .register(registry);
        Gauge.builder(
                        "mae4j.server.pixel.bytes.in.flight",
                        () -> options.pixelBytesInFlight - pixelBytes.availablePermits())
                .description("images accepted and not yet answered, counted at their decoded size, in bytes")
                .register(registry);
    }

    /** Loads the weights (the first time); the server is ready after. */
    void load() throws IOException {
        LoadedModel m = LoadedModel.load(weights, options);
        try {
            BatchingEncoder b = BatchingEncoder.builder(m.encoder())
                    .maxBatch(options.maxBatch)
                    .maxWait(options.maxWait)
                    .maxQueuedImages(Integer.MAX_VALUE) // embedAll bounds images in flight by pixelBytes
                    .maxQueuedBytes(options.pixelBytesInFlight)
                    .output(options.output)
                    .metrics(MicrometerEncoderMetrics.of(registry))
                    .modelId(m.id())
                    .decodeThreads(options.decodeSlots)
                    .build();
            MaeConfig c = m.encoder().config();
            served = new Served(
                    b,
                    new ImageDecoder(c.imgSize(), c.inChans(), m.encoder().preprocessing(), options.maxBodyBytes),
                    c,
                    m.encoder().preprocessing());
        } catch (RuntimeException e) {
            m.encoder().close();
            throw e;
        }
    }

    /**
     * Loads the weights file again and swaps it in under load: requests in flight finish on the model they started
     * on. Returns the new model's id; refuses (the old model stays) weights of another image size, channel count,
     * width or preprocessing, and a reload while another runs.
     */
    String reload() throws IOException {
        if (!reloading.tryLock()) throw new IllegalStateException("a reload is already running");
        try {
            Served s = served;
            if (s == null || draining) throw new IllegalStateException("no model is being served");
            LoadedModel m;
            try {
                m = LoadedModel.load(weights, options);
            } catch (IOException | RuntimeException e) {
                reloadFailures.increment();
                throw e;
            }
            try {
                MaeConfig c = m.encoder().config();
                Preprocessing p = m.encoder().preprocessing();
                if (c.imgSize() != s.config.imgSize()
                        || c.inChans() != s.config.inChans()
                        || c.embedDim() != s.config.embedDim())
                    throw new IllegalArgumentException("the new weights take " + c.inChans() + "×" + c.imgSize() + "×"
                            + c.imgSize() + " images to " + c.embedDim() + " features; the server serves "
                            + s.config.inChans() + "×" + s.config.imgSize() + "×" + s.config.imgSize() + " to "
                            + s.config.embedDim() + " (restart it to change them)");
                if (!Arrays.equals(p.mean(), s.preprocessing.mean()) || !Arrays.equals(p.std(), s.preprocessing.std()))
                    throw new IllegalArgumentException("the new weights normalise images with " + p
                            + ", the served ones with " + s.preprocessing + " (restart the server to change it)");
                s.batcher.swap(m.encoder(), m.id());
            } catch (RuntimeException e) {
                m.encoder().close();
                reloadFailures.increment();
                throw e;
            }
            reloads.increment();
            return m.id();
        } finally {
            reloading.unlock();
        }
    }

    Path weights() {
        return weights;
    }

    boolean ready() {
        return served != null && !draining;
    }

    /** Why the server is not ready ("loading", "draining"), or "ready". */
    String state() {
        return draining ? "draining" : served == null ? "loading" : "ready";
    }

    /** The id of the model serving new requests; null while loading. */
    String modelId() {
        Served s = served;
        return s == null ? null : s.batcher.modelId();
    }

    MaeConfig config() {
        Served s = served;
        return s == null ? null : s.config;
    }

    ServerOptions options() {
        return options;
    }

    /** The feature vector of one encoded image, within {@code timeout}. */
    CompletableFuture<Embedding> embed(byte[] image, String name, Duration timeout) throws RequestError {
        return embedAll(List.of(image), List.of(name), timeout).get(0);
    }

    /**
     * The feature vectors of several encoded images: every header is checked (and the first bad one thrown, naming
     * the image) before any is submitted; an image whose data then fails to decode fails its own future.
     */
    List<CompletableFuture<Embedding>> embedAll(List<byte[]> images, List<String> names, Duration timeout)
            throws RequestError {
        Served s = served;
        if (draining) throw new RequestError(RequestError.Kind.UNAVAILABLE, "the server is shutting down");
        if (s == null) throw new RequestError(RequestError.Kind.UNAVAILABLE, "the model is still loading");
        if (images.size() > options.maxImagesPerRequest)
            throw new RequestError(
                    RequestError.Kind.BAD_REQUEST,
                    images.size() + " images in one request, the limit is " + options.maxImagesPerRequest);
        long deadline = System.nanoTime() + timeout.toNanos();
        int floats = s.decoder.imageFloats();
        long bytes = (long) floats * Float.BYTES * images.size();
        if (bytes > options.pixelBytesInFlight)
            throw new RequestError(
                    RequestError.Kind.TOO_LARGE,
                    images.size() + " decoded images take " + bytes + " bytes, more than the server holds at once ("
                            + options.pixelBytesInFlight + ")");
        if (!acquire(pixelBytes, (int) bytes, deadline, 2))
            throw new RequestError(RequestError.Kind.OVERLOADED, "too many images in flight; retry later");
        boolean submitted = false;
        try {
            // Headers now (a bomb or garbage is refused before anything is queued), pixels in the batching worker,
            // which decodes a batch's images while the encoder waits, so that decoding never takes the encoder's cores.
            for (int i = 0; i < images.size(); i++) header(images.get(i), names.get(i));
            List<CompletableFuture<Embedding>> out = new ArrayList<>(images.size());
            try {
                for (int i = 0; i < images.size(); i++) {
                    long left = deadline - System.nanoTime();
                    out.add(s.batcher.embedEncoded(
                            images.get(i), names.get(i), s.decoder, Duration.ofNanos(Math.max(0, left))));
                }
            } catch (EncoderOverloadedException | IllegalStateException e) {
                for (CompletableFuture<Embedding> f : out) f.cancel(false);
                throw new RequestError(
                        e instanceof EncoderOverloadedException
                                ? RequestError.Kind.OVERLOADED
                                : RequestError.Kind.UNAVAILABLE,
                        e.getMessage());
            }
            CompletableFuture.allOf(out.toArray(CompletableFuture[]::new))
                    .whenComplete((v, t) -> pixelBytes.release((int) bytes));
            submitted = true;
            return out;
        } finally {
            if (!submitted) pixelBytes.release((int) bytes);
        }
    }

    // A bomb is a 413, bytes no reader knows a 400, before anything is queued.
    private static void header(byte[] image, String name) throws RequestError {
        try {
            ImageHeader.check(image, name);
        } catch (ImageTooLargeException e) {
            throw new RequestError(RequestError.Kind.TOO_LARGE, e.getMessage());
        } catch (IOException | RuntimeException e) {
            throw new RequestError(
                    RequestError.Kind.BAD_REQUEST, name + " is not a readable PNG or JPEG image: " + e.getMessage());
        }
    }

    // Waits for permits at most until the deadline and at most `cap` seconds: past that the server is overloaded.
    private static boolean acquire(Semaphore s, int permits, long deadline, long capSeconds) {
        long wait = Math.min(deadline - System.nanoTime(), TimeUnit.SECONDS.toNanos(capSeconds));
        try {
            return s.tryAcquire(permits, Math.max(0, wait), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** The request error an embedding future failed with. */
    static RequestError failure(Throwable t) {
        Throwable c = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        if (c instanceof RequestError r) return r;
        if (c instanceof ImageTooLargeException) return new RequestError(RequestError.Kind.TOO_LARGE, c.getMessage());
        if (c instanceof IOException) // decoded in the batching worker: a file whose header read but whose data did not
        return new RequestError(RequestError.Kind.BAD_REQUEST, "not a readable PNG or JPEG image: " + c.getMessage());
        if (c instanceof DeadlineExceededException) return new RequestError(RequestError.Kind.DEADLINE, c.getMessage());
        if (c instanceof java.util.concurrent.CancellationException)
            return new RequestError(RequestError.Kind.DEADLINE, "the request was cancelled");
        if (c instanceof IllegalStateException) // closed, or the JVM shutting down
        return new RequestError(RequestError.Kind.UNAVAILABLE, c.getMessage());
        return new RequestError(RequestError.Kind.INTERNAL, "the encoder failed: " + c.getMessage());
    }

    /** From now on new requests are refused (the server is draining); those accepted are still answered. */
    void drain() {
        draining = true;
    }

    /** Answers every accepted request, then frees the model. */
    @Override
    public void close() {
        draining = true;
        Served s = served;
        if (s != null) s.batcher.close();
    }
}
