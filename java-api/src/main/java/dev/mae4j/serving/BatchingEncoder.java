package dev.mae4j.serving;

import dev.mae4j.Encoder;
import dev.mae4j.MaeConfig;
import dev.mae4j.Tensor;
import dev.mae4j.data.ImageDecoder;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Dynamic batching in front of an {@link Encoder}, for services: any number of threads submit single normalised images
 * and get a {@link CompletableFuture} of their feature vector; one worker gathers what is waiting into batches — up to
 * {@link Builder#maxBatch} images, waiting at most {@link Builder#maxWait} after the first — and runs each as one
 * encoder call, so that concurrent requests share the encoder's cost.
 *
 * <ul>
 *   <li><b>Bounded:</b> at most {@link Builder#maxQueuedImages} images and {@link Builder#maxQueuedBytes} bytes of
 *       pixels wait at once; beyond that {@link #submit} throws {@link EncoderOverloadedException} at once instead of
 *       queueing (a service answers 429 or 503).
 *   <li><b>Deadlines and cancellation:</b> a request whose deadline has passed, or whose future was cancelled, before
 *       its batch forms never reaches the encoder; an expired one fails with {@link DeadlineExceededException}.
 *   <li><b>Draining:</b> {@link #close} refuses new requests, answers every accepted one, then returns.
 *   <li><b>Weights swapped under load:</b> {@link #swap} puts in a new encoder atomically: each batch runs wholly on
 *       one encoder, none fails, and the old encoder is closed when its last batch has ended.
 *   <li><b>Metrics:</b> optional, through {@link EncoderMetrics} ({@link MicrometerEncoderMetrics} for Micrometer,
 *       whose jar is then the caller's dependency; nothing of Micrometer is loaded otherwise).
 * </ul>
 */
public final class BatchingEncoder implements AutoCloseable {
    /**
     * One submitted image: its pixels, deadline (System.nanoTime; Long.MAX_VALUE for none) and future — of the vector
     * alone ({@link #submit}) or of an {@link Embedding} ({@link #embed}).
     */
    private record Request(
            float[] pixels,
            Encoded encoded,
            long deadline,
            long submitted,
            CompletableFuture<?> result,
            boolean tagged) {
        /** Bytes it holds while queued: its pixels, or its encoded file. */
        long bytes() {
            return pixels != null ? (long) pixels.length * Float.BYTES : encoded.image.length;
        }

        @SuppressWarnings("unchecked")
        void complete(float[] vector, String modelId) {
            if (tagged) ((CompletableFuture<Embedding>) result).complete(new Embedding(vector, modelId));
            else ((CompletableFuture<float[]>) result).complete(vector);
        }
    }

    private final int maxBatch, maxQueuedImages, imageFloats;
    private final long maxWaitNanos, maxQueuedBytes;
    private final Encoder.Output output;
    private final EncoderMetrics metrics;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private final ArrayDeque<Request> queue = new ArrayDeque<>();
    private final Thread worker;
    private final int decodeThreads;
    private ExecutorService decoders; // made at the first encoded image
    private final MaeConfig config;
    private volatile Serving serving;
    private long queuedBytes;
    private boolean closed;

    private BatchingEncoder(Builder b) {
        this.maxBatch = b.maxBatch;
        this.maxQueuedImages = b.maxQueuedImages;
        this.maxQueuedBytes = b.maxQueuedBytes;
        this.maxWaitNanos = b.maxWait.toNanos();
        this.decodeThreads = b.decodeThreads;
        this.output = b.output;
        this.metrics = b.metrics;
        this.config = b.encoder.config();
        this.imageFloats = config.inChans() * config.imgSize() * config.imgSize();
        this.serving = new Serving(b.encoder, b.modelId);
        metrics.queueDepth(this::queued);
        this.worker =
                Thread.ofPlatform().name("mae4j-batching-encoder").daemon().start(this::work);
    }

    public static Builder builder(Encoder encoder) {
        if (encoder == null) throw new IllegalArgumentException("encoder must not be null");
        return new Builder(encoder);
    }

    /** The feature vector of one normalised image ([C, H, W] flattened, C·H·W values), with no deadline. */
    public CompletableFuture<float[]> submit(float[] pixels) {
        return submit(pixels, null);
    }

    /**
     * The feature vector of one normalised image ([C, H, W] flattened, C·H·W values, as {@code
     * dev.mae4j.data.ImageDecoder} writes them), computed in a batch with whatever else is waiting. If {@code timeout}
     * (null: none) passes before its batch forms, the future fails with {@link DeadlineExceededException} and the
     * image is never embedded; cancelling the future has the same effect. Throws {@link EncoderOverloadedException}
     * when the queue is full and {@link IllegalStateException} once closed.
     */
    @SuppressWarnings("unchecked")
    public CompletableFuture<float[]> submit(float[] pixels, Duration timeout) {
        return (CompletableFuture<float[]>) enqueue(pixels, timeout, false);
    }

    /**
     * As {@link #submit(float[], Duration)}, with the id of the model that answered: the one set by the builder's
     * {@link Builder#modelId} or by the {@link #swap(Encoder, String)} whose encoder ran the image's batch.
     */
    @SuppressWarnings("unchecked")
    public CompletableFuture<Embedding> embed(float[] pixels, Duration timeout) {
        return (CompletableFuture<Embedding>) enqueue(pixels, timeout, true);
    }

    /**
     * As {@link #embed(float[], Duration)} for an encoded image file (JPEG, PNG: what {@code decoder} reads), decoded by
     * the batching worker together with the other images of its batch, on {@link Builder#decodeThreads} threads, while
     * the encoder waits: decoding never competes with the encoder's threads for cores. A file that does not decode
     * fails its future with the decoder's IOException ({@code dev.mae4j.data.ImageTooLargeException} for a bomb) and
     * never reaches the encoder; the rest of its batch is unaffected. {@code decoder} must give this encoder's images.
     */
    @SuppressWarnings("unchecked")
    public CompletableFuture<Embedding> embedEncoded(
            byte[] image, String name, ImageDecoder decoder, Duration timeout) {
        if (image == null || decoder == null) throw new IllegalArgumentException("image and decoder must not be null");
        if (decoder.imageFloats() != imageFloats)
            throw new IllegalArgumentException("the decoder gives images of " + decoder.imageFloats()
                    + " values, this encoder takes " + imageFloats);
        return (CompletableFuture<Embedding>)
                enqueue(null, new Encoded(image, name == null ? "the image" : name, decoder), timeout, true);
    }

    /** An encoded image file, its name for errors, and the decoder that turns it into this encoder's input. */
    private record Encoded(byte[] image, String name, ImageDecoder decoder) {}

    private CompletableFuture<?> enqueue(float[] pixels, Duration timeout, boolean tagged) {
        if (pixels == null) throw new IllegalArgumentException("pixels must not be null");
        if (pixels.length != imageFloats)
            throw new IllegalArgumentException("an image of this encoder has " + imageFloats + " values ("
                    + config.inChans() + "×" + config.imgSize() + "×" + config.imgSize() + "), got " + pixels.length);
        return enqueue(pixels, null, timeout, tagged);
    }

    private CompletableFuture<?> enqueue(float[] pixels, Encoded encoded, Duration timeout, boolean tagged) {
        long now = System.nanoTime();
        long deadline = timeout == null ? Long.MAX_VALUE : now + Math.max(0, timeout.toNanos());
        Request r = new Request(pixels, encoded, deadline, now, new CompletableFuture<>(), tagged);
        long bytes = r.bytes();
        lock.lock();
        try {
            if (closed) throw new IllegalStateException("this batching encoder is closed");
            if (queue.size() >= maxQueuedImages || queuedBytes + bytes > maxQueuedBytes) {
                metrics.rejected();
                throw new EncoderOverloadedException(queue.size() + " images (" + queuedBytes
                        + " bytes) are waiting, the limit is " + maxQueuedImages + " images and " + maxQueuedBytes
                        + " bytes");
            }
            queue.add(r);
            queuedBytes += bytes;
            arrived.signal();
        } finally {
            lock.unlock();
        }
        return r.result();
    }

    /**
     * Serves later batches with {@code next} (the same image size, channels and feature width) and closes the current
     * encoder once the batches running on it have ended; returns at once. Requests in flight are not disturbed: each
     * batch is answered wholly by the encoder it started on.
     */
    public void swap(Encoder next) {
        swap(next, serving.modelId);
    }

    /** As {@link #swap(Encoder)}, naming the new model {@code modelId} in the {@link Embedding}s it answers. */
    public void swap(Encoder next, String modelId) {
        if (modelId == null) throw new IllegalArgumentException("modelId must not be null");
        if (next == null) throw new IllegalArgumentException("next must not be null");
        MaeConfig c = next.config();
        if (c.imgSize() != config.imgSize() || c.inChans() != config.inChans() || c.embedDim() != config.embedDim())
            throw new IllegalArgumentException("the new encoder takes " + c.inChans() + "×" + c.imgSize() + "×"
                    + c.imgSize() + " images to " + c.embedDim() + " features; this one serves " + config.inChans()
                    + "×" + config.imgSize() + "×" + config.imgSize() + " to " + config.embedDim());
        if (next.maxBatch() < maxBatch)
            throw new IllegalArgumentException("the new encoder takes at most " + next.maxBatch()
                    + " images a call, batches here have " + maxBatch);
        Serving old;
        lock.lock();
        try {
            if (closed) throw new IllegalStateException("this batching encoder is closed");
            old = serving;
            serving = new Serving(next, modelId);
        } finally {
            lock.unlock();
        }
        old.retire();
        metrics.swapped();
    }

    /** Images waiting for a batch. */
    public int queued() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /** The encoder serving new batches. */
    public Encoder encoder() {
        return serving.encoder;
    }

    /** The id of the model serving new batches. */
    public String modelId() {
        return serving.modelId;
    }

    /**
     * Refuses new requests, answers every accepted one (expired and cancelled ones as they are), closes the encoder
     * serving last, and returns when all of that is done. Idempotent.
     */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
        boolean interrupted = false;
        while (worker.isAlive())
            try {
                worker.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        serving.retire();
        synchronized (this) {
            if (decoders != null) decoders.shutdown();
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    private void work() {
        List<Request> batch = new ArrayList<>(maxBatch);
        // The input and output of every encoder call, allocated once: a batch costs no allocation, no zeroing and no
        // arena to close. Only this thread touches them.
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate((long) maxBatch * imageFloats * Float.BYTES, 64);
            MemorySegment out = arena.allocate((long) maxBatch * config.embedDim() * Float.BYTES, 64);
            while (true) {
                if (!gather(batch)) return;
                run(batch, in, out);
                batch.clear();
            }
        }
    }

    /**
     * Waits for a first live request, then for more until the batch is full or maxWait has passed since the first;
     * false once closed with nothing left. Expired and cancelled requests are answered here and never batched.
     */
    private boolean gather(List<Request> batch) {
        lock.lock();
        try {
            long until = Long.MAX_VALUE;
            while (batch.size() < maxBatch) {
                Request r = queue.poll();
                if (r == null) {
                    if (closed) return !batch.isEmpty();
                    long now = System.nanoTime();
                    if (!batch.isEmpty() && now >= until) return true;
                    if (batch.isEmpty()) arrived.await();
                    else arrived.awaitNanos(until - now);
                    continue;
                }
                queuedBytes -= r.bytes();
                long now = System.nanoTime();
                if (!live(r, now)) continue;
                if (batch.isEmpty()) until = closed ? now : now + maxWaitNanos;
                batch.add(r);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !batch.isEmpty();
        } finally {
            lock.unlock();
        }
    }

    /** False for a request cancelled or expired (which is then failed): it must not reach the encoder. */
    private boolean live(Request r, long now) {
        if (r.result().isDone()) return false; // cancelled
        if (now < r.deadline()) return true;
        metrics.expired();
        r.result()
                .completeExceptionally(new DeadlineExceededException(
                        "the deadline passed after " + TimeUnit.NANOSECONDS.toMillis(now - r.submitted())
                                + " ms in the queue; the image was not embedded"));
        return false;
    }

    private void run(List<Request> batch, MemorySegment in, MemorySegment out) {
        long now = System.nanoTime();
        batch.removeIf(r -> !live(r, now)); // cancelled or expired while the batch formed
        List<float[]> pixels = decode(batch); // the rows of the images that decoded, in batch order
        if (batch.isEmpty()) return;
        Serving s;
        while ((s = serving.enter()) == null) Thread.onSpinWait(); // retired by a swap between read and enter
        int n = batch.size(), dim = config.embedDim();
        long started = System.nanoTime();
        try (Tensor x = Tensor.wrap(
                        in.asSlice(0, (long) n * imageFloats * Float.BYTES),
                        n,
                        config.inChans(),
                        config.imgSize(),
                        config.imgSize());
                Tensor f = Tensor.wrap(out.asSlice(0, (long) n * dim * Float.BYTES), n, dim)) {
            for (int i = 0; i < n; i++)
                MemorySegment.copy(
                        pixels.get(i),
                        0,
                        in,
                        ValueLayout.JAVA_FLOAT,
                        (long) i * imageFloats * Float.BYTES,
                        imageFloats);
            s.encoder.embedInto(x, output, f);
            metrics.batch(n, Duration.ofNanos(System.nanoTime() - started));
            long done = System.nanoTime();
            for (int i = 0; i < n; i++) {
                Request r = batch.get(i);
                float[] v = new float[dim];
                MemorySegment.copy(out, ValueLayout.JAVA_FLOAT, (long) i * dim * Float.BYTES, v, 0, dim);
                metrics.latency(Duration.ofNanos(done - r.submitted())); // recorded before its caller can look
                r.complete(v, s.modelId);
            }
        } catch (RuntimeException e) {
            metrics.failed(n);
            for (Request r : batch) r.result().completeExceptionally(e);
        } finally {
            s.leave();
        }
    }

    /**
     * The pixels of each request: its own, or its encoded file decoded here, the files of the batch in parallel.
     * Requests whose file does not decode are failed and removed from {@code batch}.
     */
    private List<float[]> decode(List<Request> batch) {
        long start = System.nanoTime();
        int encoded = 0, failed = 0;
        List<Future<float[]>> decoded = new ArrayList<>(batch.size());
        for (Request r : batch) {
            if (r.pixels() != null) decoded.add(CompletableFuture.completedFuture(r.pixels()));
            else {
                encoded++;
                decoded.add(decoders().submit(() -> {
                    float[] x = new float[imageFloats];
                    r.encoded()
                            .decoder()
                            .decode(r.encoded().image(), r.encoded().name(), x, 0);
                    return x;
                }));
            }
        }
        List<float[]> out = new ArrayList<>(batch.size());
        for (int i = 0, k = 0; i < decoded.size(); i++) {
            Request r = batch.get(k);
            try {
                out.add(decoded.get(i).get());
                k++;
            } catch (ExecutionException e) {
                r.result().completeExceptionally(e.getCause());
                batch.remove(k);
                failed++;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                r.result().completeExceptionally(e);
                batch.remove(k);
                failed++;
            }
        }
        if (encoded > 0) metrics.decoded(encoded, failed, Duration.ofNanos(System.nanoTime() - start));
        return out;
    }

    private synchronized ExecutorService decoders() {
        if (decoders == null)
            decoders = Executors.newFixedThreadPool(
                    decodeThreads,
                    Thread.ofPlatform().name("mae4j-batch-decoder-", 0).daemon().factory());
        return decoders;
    }

    /** An encoder (and its model's id) with the batches running on it; closed once retired and its last batch has left. */
    private static final class Serving {
        final Encoder encoder;
        final String modelId;
        private int running;
        private boolean retired;

        Serving(Encoder encoder, String modelId) {
            this.encoder = encoder;
            this.modelId = modelId;
        }

        /** This, counted as running a batch; null once retired (swap has installed its successor). */
        synchronized Serving enter() {
            if (retired) return null;
            running++;
            return this;
        }

        void leave() {
            boolean close;
            synchronized (this) {
                close = --running == 0 && retired;
            }
            if (close) encoder.close();
        }

        void retire() {
            boolean close;
            synchronized (this) {
                if (retired) return;
                retired = true;
                close = running == 0;
            }
            if (close) encoder.close();
        }
    }

    /**
     * Limits and batching of a {@link BatchingEncoder}. Defaults: batches of up to 16 images (at most the encoder's
     * {@link Encoder#maxBatch}), 2 ms of waiting for more after the first, 256 images and 256 MiB of pixels queued,
     * {@link Encoder.Output#CLS} features, no metrics, model id "model".
     */
    public static final class Builder {
        private final Encoder encoder;
        private String modelId = "model";
        private int decodeThreads = Runtime.getRuntime().availableProcessors();
        private int maxBatch, maxQueuedImages = 256;
        private long maxQueuedBytes = 256L << 20;
        private Duration maxWait = Duration.ofMillis(2);
        private Encoder.Output output = Encoder.Output.CLS;
        private EncoderMetrics metrics = EncoderMetrics.NONE;

        private Builder(Encoder encoder) {
            this.encoder = encoder;
            this.maxBatch = Math.min(16, encoder.maxBatch());
        }

        public Builder maxBatch(int n) {
            maxBatch = n;
            return this;
        }

        public Builder maxWait(Duration d) {
            maxWait = d;
            return this;
        }

        public Builder maxQueuedImages(int n) {
            maxQueuedImages = n;
            return this;
        }

        public Builder maxQueuedBytes(long bytes) {
            maxQueuedBytes = bytes;
            return this;
        }

        /** CLS or MEAN (a fine-tuned classifier's encoder: MEAN); TOKENS is not a vector. */
        public Builder output(Encoder.Output o) {
            output = o;
            return this;
        }

        public Builder metrics(EncoderMetrics m) {
            metrics = m;
            return this;
        }

        /** Threads that decode a batch's encoded images ({@link #embedEncoded}). Default: the cores. */
        public Builder decodeThreads(int n) {
            decodeThreads = n;
            return this;
        }

        /** The id {@link Embedding}s carry until a {@link #swap(Encoder, String)} names another. */
        public Builder modelId(String id) {
            modelId = id;
            return this;
        }

        public BatchingEncoder build() {
            if (maxBatch < 1 || maxBatch > encoder.maxBatch())
                throw new IllegalArgumentException(
                        "maxBatch must be in [1, " + encoder.maxBatch() + "] (the encoder's limit), got " + maxBatch);
            if (maxWait == null || maxWait.isNegative())
                throw new IllegalArgumentException("maxWait must be zero or positive, got " + maxWait);
            if (maxQueuedImages < 1)
                throw new IllegalArgumentException("maxQueuedImages must be >= 1, got " + maxQueuedImages);
            if (maxQueuedBytes < 1)
                throw new IllegalArgumentException("maxQueuedBytes must be >= 1, got " + maxQueuedBytes);
            if (output == null || output == Encoder.Output.TOKENS)
                throw new IllegalArgumentException("output must be CLS or MEAN, got " + output);
            if (metrics == null) throw new IllegalArgumentException("metrics must not be null (EncoderMetrics.NONE)");
            if (modelId == null) throw new IllegalArgumentException("modelId must not be null");
            if (decodeThreads < 1)
                throw new IllegalArgumentException("decodeThreads must be >= 1, got " + decodeThreads);
            if (encoder.isClosed()) throw new IllegalArgumentException("the encoder is closed");
            return new BatchingEncoder(this);
        }
    }
}
