package dev.mae4j.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mae4j.Device;
import dev.mae4j.Encoder;
import dev.mae4j.MaeConfig;
import dev.mae4j.Model;
import dev.mae4j.Tensor;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The batching encoder against the plain encoder's own answers: every request gets its image's features, batches
 * form under concurrency, limits refuse instead of queueing, expired and cancelled requests never reach the model,
 * close drains, and a swap under load fails nothing and frees the old encoder after its last batch.
 */
class BatchingEncoderTest {
    private static final MaeConfig CONFIG = MaeConfig.tiny(); // 2×8×8 images, width 8
    private static final int PIXELS = 128, IMAGES = 24;

    @TempDir
    static Path dir;

    private static Path weightsA, weightsB;
    private static float[][] images;
    private static float[][] expectedA, expectedB;

    @BeforeAll
    static void setUp() throws Exception {
        weightsA = dir.resolve("a.safetensors");
        weightsB = dir.resolve("b.safetensors");
        try (Model a = Model.create(CONFIG, Device.cpu(), 1);
                Model b = Model.create(CONFIG, Device.cpu(), 2)) {
            a.save(weightsA);
            b.save(weightsB);
        }
        Random r = new Random(3);
        images = new float[IMAGES][PIXELS];
        for (float[] im : images) for (int i = 0; i < PIXELS; i++) im[i] = (float) r.nextGaussian();
        expectedA = alone(weightsA);
        expectedB = alone(weightsB);
    }

    /** Each image embedded on its own by a plain encoder. */
    private static float[][] alone(Path weights) throws Exception {
        float[][] out = new float[IMAGES][];
        try (Encoder e = Encoder.load(weights, Device.cpu())) {
            for (int i = 0; i < IMAGES; i++)
                try (Tensor x = Tensor.fromFloats(images[i], 1, 2, 8, 8);
                        Tensor f = e.embed(x, Encoder.Output.CLS)) {
                    out[i] = f.toFloatArray();
                }
        }
        return out;
    }

    private static void assertFeatures(float[] expected, float[] got, String what) {
        assertEquals(expected.length, got.length, what);
        for (int k = 0; k < expected.length; k++)
            assertEquals(expected[k], got[k], 1e-5 * Math.max(1, Math.abs(expected[k])), what + " [" + k + "]");
    }

    /** Counts images the encoder really embedded. */
    private static final class Counting implements EncoderMetrics {
        final AtomicLong images = new AtomicLong(), batches = new AtomicLong(), expired = new AtomicLong();
        final AtomicInteger largest = new AtomicInteger();

        @Override
        public void batch(int n, Duration d) {
            images.addAndGet(n);
            batches.incrementAndGet();
            largest.accumulateAndGet(n, Math::max);
        }

        @Override
        public void expired() {
            expired.incrementAndGet();
        }
    }

    @Test
    void concurrentRequestsShareBatchesAndEachGetsItsOwnFeatures() throws Exception {
        Counting counts = new Counting();
        try (BatchingEncoder b = BatchingEncoder.builder(Encoder.load(weightsA, Device.cpu()))
                .maxBatch(8)
                .maxWait(Duration.ofMillis(50))
                .metrics(counts)
                .build()) {
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                CountDownLatch start = new CountDownLatch(1);
                List<Future<float[]>> results = new ArrayList<>();
                for (int i = 0; i < IMAGES; i++) {
                    int k = i;
                    results.add(pool.submit(() -> {
                        start.await();
                        return b.submit(images[k]).get(30, TimeUnit.SECONDS);
                    }));
                }
                start.countDown();
                for (int i = 0; i < IMAGES; i++)
                    assertFeatures(expectedA[i], results.get(i).get(), "image " + i);
            } finally {
                pool.shutdownNow();
            }
        }
        assertEquals(IMAGES, counts.images.get(), "each image embedded once");
        assertTrue(counts.largest.get() > 1, "concurrent requests were batched: largest batch " + counts.largest);
        assertTrue(counts.largest.get() <= 8, "no batch above maxBatch: " + counts.largest);
    }

    @Test
    void aFullQueueRefusesAtOnceAndBadImagesAreNamed() throws Exception {
        try (BatchingEncoder b = BatchingEncoder.builder(Encoder.load(weightsA, Device.cpu()))
                .maxBatch(1)
                .maxQueuedImages(2)
                .build()) {
            // the worker may take one at once; then two wait and the next is refused
            List<CompletableFuture<float[]>> accepted = new ArrayList<>();
            EncoderOverloadedException refused = null;
            for (int i = 0; i < 50 && refused == null; i++)
                try {
                    accepted.add(b.submit(images[i % IMAGES]));
                } catch (EncoderOverloadedException e) {
                    refused = e;
                }
            assertTrue(refused != null && refused.getMessage().contains("the limit is 2 images"), "" + refused);
            for (CompletableFuture<float[]> f : accepted) assertEquals(8, f.get(30, TimeUnit.SECONDS).length);
            IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> b.submit(new float[3]));
            assertTrue(bad.getMessage().contains("128 values (2×8×8), got 3"), bad.getMessage());
        }
        try (BatchingEncoder b = BatchingEncoder.builder(Encoder.load(weightsA, Device.cpu()))
                .maxQueuedBytes(PIXELS * 4 - 1)
                .build()) {
            EncoderOverloadedException e = assertThrows(EncoderOverloadedException.class, () -> b.submit(images[0]));
            assertTrue(e.getMessage().contains("511 bytes"), e.getMessage());
        }
    }

    @Test
    void expiredAndCancelledRequestsNeverReachTheEncoder() throws Exception {
        Counting counts = new Counting();
        try (BatchingEncoder b = BatchingEncoder.builder(Encoder.load(weightsA, Device.cpu()))
                .maxBatch(4)
                .maxWait(Duration.ofMillis(200))
                .metrics(counts)
                .build()) {
            CompletableFuture<float[]> live = b.submit(images[0]); // opens a batch that waits 200 ms for more
            CompletableFuture<float[]> expired = b.submit(images[1], Duration.ZERO);
            CompletableFuture<float[]> cancelled = b.submit(images[2]);
            cancelled.cancel(true); // in the queue or already in the forming batch: either way never embedded
            assertFeatures(expectedA[0], live.get(30, TimeUnit.SECONDS), "the live request");
            ExecutionException e = assertThrows(ExecutionException.class, () -> expired.get(30, TimeUnit.SECONDS));
            assertInstanceOf(DeadlineExceededException.class, e.getCause());
            assertTrue(cancelled.isCancelled());
        }
        assertEquals(1, counts.images.get(), "only the live image was embedded");
        assertEquals(1, counts.expired.get());
    }

    @Test
    void closeAnswersEveryAcceptedRequestThenRefuses() throws Exception {
        Encoder e = Encoder.load(weightsA, Device.cpu());
        BatchingEncoder b = BatchingEncoder.builder(e)
                .maxBatch(2)
                .maxWait(Duration.ofMillis(20))
                .build();
        List<CompletableFuture<float[]>> accepted = new ArrayList<>();
        for (int i = 0; i < IMAGES; i++) accepted.add(b.submit(images[i]));
        b.close();
        for (int i = 0; i < IMAGES; i++) {
            assertTrue(accepted.get(i).isDone(), "answered before close returned: " + i);
            assertFeatures(expectedA[i], accepted.get(i).get(), "image " + i);
        }
        assertTrue(e.isClosed(), "the encoder is closed with it");
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> b.submit(images[0]));
        assertTrue(refused.getMessage().contains("closed"), refused.getMessage());
    }

    @Test
    void aSwapUnderLoadFailsNothingAndFreesTheOldEncoderAfterItsLastBatch() throws Exception {
        Encoder first = Encoder.load(weightsA, Device.cpu());
        try (BatchingEncoder b = BatchingEncoder.builder(first)
                .maxBatch(4)
                .maxWait(Duration.ofMillis(1))
                .modelId("A")
                .build()) {
            ExecutorService pool = Executors.newFixedThreadPool(6);
            AtomicInteger fromA = new AtomicInteger(), fromB = new AtomicInteger();
            CountDownLatch swapped = new CountDownLatch(1);
            try {
                List<Future<?>> clients = new ArrayList<>();
                for (int t = 0; t < 6; t++) {
                    int offset = t;
                    clients.add(pool.submit(() -> {
                        boolean sawB = false;
                        // until 20 requests after the swap: the swap always lands while every client is busy
                        for (int c = 0, after = 0; after < 20; c++) {
                            boolean swapDone = swapped.getCount() == 0;
                            int i = (offset * 7 + c) % IMAGES;
                            // half the clients ask which model answered: the id names the weights of the vector
                            float[] f;
                            String id = null;
                            if (offset % 2 == 0) f = b.submit(images[i]).get(30, TimeUnit.SECONDS);
                            else {
                                Embedding em = b.embed(images[i], null).get(30, TimeUnit.SECONDS);
                                f = em.vector();
                                id = em.modelId();
                            }
                            boolean a = close(expectedA[i], f), bb = close(expectedB[i], f);
                            assertTrue(a || bb, "image " + i + " was answered by one of the two models");
                            if (id != null) assertEquals(a ? "A" : "B", id, "the answering model's id");
                            if (bb) sawB = true;
                            else if (sawB) throw new AssertionError("an old-model answer after a new-model one");
                            (a ? fromA : fromB).incrementAndGet();
                            if (swapDone) after++;
                        }
                        return null;
                    }));
                }
                long until = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
                while (fromA.get() < 60 && System.nanoTime() < until) {
                    for (Future<?> c : clients) if (c.isDone()) c.get(); // a client that failed fails the test here
                    Thread.onSpinWait();
                }
                assertTrue(fromA.get() >= 60, "under load before the swap: " + fromA);
                b.swap(Encoder.load(weightsB, Device.cpu()), "B");
                swapped.countDown();
                for (Future<?> f : clients) f.get(60, TimeUnit.SECONDS);
            } finally {
                pool.shutdownNow();
            }
            assertTrue(fromA.get() >= 60, "the old weights served before the swap: " + fromA);
            assertTrue(fromB.get() >= 6 * 20, "the new weights served every request after it: " + fromB);
            assertTrue(first.isClosed(), "the old encoder is freed");
            assertFeatures(expectedB[5], b.submit(images[5]).get(30, TimeUnit.SECONDS), "after the swap");
            assertEquals("B", b.modelId());
            try (Model other = Model.create(MaeConfig.fashionMnistSmall(), Device.cpu(), 1);
                    Encoder wrong = Encoder.of(other)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.swap(wrong));
                assertTrue(e.getMessage().contains("this one serves 2×8×8"), e.getMessage());
            }
        }
    }

    private static boolean close(float[] expected, float[] got) {
        for (int k = 0; k < expected.length; k++)
            if (Math.abs(expected[k] - got[k]) > 1e-5 * Math.max(1, Math.abs(expected[k]))) return false;
        return true;
    }

    @Test
    void micrometerSeesBatchesLatencyAndRejections() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (BatchingEncoder b = BatchingEncoder.builder(Encoder.load(weightsA, Device.cpu()))
                .metrics(MicrometerEncoderMetrics.of(registry))
                .maxBatch(1) // one image a call: submissions (microseconds) outrun the worker (a call each)
                .maxQueuedImages(1)
                .build()) {
            b.submit(images[0]).get(30, TimeUnit.SECONDS);
            int refusals = 0;
            for (int i = 0; i < 200; i++)
                try {
                    b.submit(images[i % IMAGES]);
                } catch (EncoderOverloadedException e) {
                    refusals++;
                }
            assertTrue(refusals > 0);
            assertEquals(
                    refusals,
                    registry.get("mae4j.encoder.requests.rejected").counter().count());
            assertTrue(registry.get("mae4j.encoder.batch.size").summary().count() >= 1);
            assertTrue(registry.get("mae4j.encoder.request.latency").timer().count() >= 1);
            System.gc(); // a weakly held depth supplier would be collected here and read NaN
            assertTrue(registry.get("mae4j.encoder.queue.depth").gauge().value() >= 0);
        }
    }

    @Test
    void limitsAreChecked() throws Exception {
        try (Encoder e = Encoder.load(weightsA, Device.cpu(), 4)) {
            IllegalArgumentException big = assertThrows(
                    IllegalArgumentException.class,
                    () -> BatchingEncoder.builder(e).maxBatch(5).build());
            assertTrue(big.getMessage().contains("maxBatch must be in [1, 4]"), big.getMessage());
            assertThrows(
                    IllegalArgumentException.class,
                    () -> BatchingEncoder.builder(e)
                            .output(Encoder.Output.TOKENS)
                            .build());
        }
    }
}
