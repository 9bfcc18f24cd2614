package dev.mae4j.examples.service;

import dev.mae4j.Encoder;
import dev.mae4j.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Dynamic micro-batching: requests from many threads wait in a queue; one worker takes whatever is waiting,
 * up to {@code maxBatch} images, lingering at most {@code maxWait} after the first so that concurrent requests
 * share one encoder call. A lone request pays at most that wait; under load batches fill and the per-image
 * cost of a call falls. A full queue rejects new requests at once (back-pressure, not unbounded memory).
 */
public final class MicroBatcher implements AutoCloseable {
    private record Request(float[] image, CompletableFuture<float[]> result) {}

    private final Encoder encoder;
    private final Encoder.Output output;
    private final int maxBatch, imageFloats;
    private final long maxWaitNanos;
    private final BlockingQueue<Request> queue;
    private final Thread worker;
    private volatile boolean closed;
    private long batches, images;

    public MicroBatcher(Encoder encoder, Encoder.Output output, int maxBatch, long maxWaitMicros, int queueCapacity) {
        if (maxBatch < 1 || maxBatch > encoder.maxBatch())
            throw new IllegalArgumentException("maxBatch must be in [1, " + encoder.maxBatch() + "], got " + maxBatch);
        if (output == Encoder.Output.TOKENS) throw new IllegalArgumentException("serve CLS or MEAN vectors");
        this.encoder = encoder;
        this.output = output;
        this.maxBatch = maxBatch;
        this.maxWaitNanos = TimeUnit.MICROSECONDS.toNanos(maxWaitMicros);
        var c = encoder.config();
        this.imageFloats = c.inChans() * c.imgSize() * c.imgSize();
        this.queue = new ArrayBlockingQueue<>(queueCapacity);
        this.worker = Thread.ofPlatform().name("mae4j-microbatcher").daemon().start(this::work);
    }

    /** The embedding of one normalised image [C·H·W], computed in a batch with whatever else is waiting. */
    public CompletableFuture<float[]> submit(float[] image) {
        if (image.length != imageFloats)
            return CompletableFuture.failedFuture(
                    new IllegalArgumentException("an image needs " + imageFloats + " values, got " + image.length));
        if (closed) return CompletableFuture.failedFuture(new IllegalStateException("the batcher is closed"));
        Request r = new Request(image, new CompletableFuture<>());
        if (!queue.offer(r)) return CompletableFuture.failedFuture(new RejectedExecutionException("the queue is full"));
        return r.result();
    }

    private void work() {
        List<Request> batch = new ArrayList<>(maxBatch);
        while (!closed) {
            try {
                Request first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) continue;
                batch.add(first);
                long deadline = System.nanoTime() + maxWaitNanos;
                while (batch.size() < maxBatch) {
                    long left = deadline - System.nanoTime();
                    Request next = left <= 0 ? queue.poll() : queue.poll(left, TimeUnit.NANOSECONDS);
                    if (next == null) break;
                    batch.add(next);
                }
                run(batch);
            } catch (InterruptedException e) {
                break;
            } finally {
                batch.clear();
            }
        }
        for (Request r; (r = queue.poll()) != null; )
            r.result().completeExceptionally(new IllegalStateException("the batcher is closed"));
    }

    private void run(List<Request> batch) {
        var c = encoder.config();
        int n = batch.size(), dim = encoder.dim();
        try (Tensor x = Tensor.zeros(dev.mae4j.DType.F32, n, c.inChans(), c.imgSize(), c.imgSize())) {
            MemorySegment seg = x.segment();
            for (int i = 0; i < n; i++)
                MemorySegment.copy(
                        batch.get(i).image(), 0, seg, ValueLayout.JAVA_FLOAT, (long) i * imageFloats * 4, imageFloats);
            try (Tensor f = encoder.embed(x, output)) {
                float[] all = f.toFloatArray();
                for (int i = 0; i < n; i++)
                    batch.get(i).result().complete(java.util.Arrays.copyOfRange(all, i * dim, (i + 1) * dim));
            }
            synchronized (this) {
                batches++;
                images += n;
            }
        } catch (RuntimeException e) {
            for (Request r : batch) r.result().completeExceptionally(e);
        }
    }

    /** Mean images per encoder call so far. */
    public synchronized double meanBatchSize() {
        return batches == 0 ? 0 : (double) images / batches;
    }

    /** Stops taking requests; waiting ones fail with IllegalStateException. */
    @Override
    public void close() {
        closed = true;
        worker.interrupt();
        try {
            worker.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
