package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The serving encoder: outputs, limits, concurrency and closing while in use. */
class EncoderTest {
    private static final MaeConfig CONFIG = MaeConfig.tiny();

    private static Tensor images(int n, long seed) {
        return TestData.images(TestData.gaussian(n * 128, seed), DType.F32, CONFIG, n);
    }

    @Test
    void clsAndMeanComeFromTheTokens() {
        try (Model m = Model.create(CONFIG, TestData.device(), 1);
                Encoder e = Encoder.of(m);
                Tensor x = images(3, 61);
                Tensor tokens = e.embed(x, Encoder.Output.TOKENS);
                Tensor cls = e.embed(x, Encoder.Output.CLS);
                Tensor mean = e.embed(x, Encoder.Output.MEAN);
                Tensor encoded = m.encode(x)) {
            assertArrayEquals(new long[] {3, 17, 8}, tokens.shape());
            assertArrayEquals(encoded.toFloatArray(), tokens.toFloatArray(), "tokens are Model.encode's");
            float[] t = tokens.toFloatArray(), c = cls.toFloatArray(), mu = mean.toFloatArray();
            assertArrayEquals(new long[] {3, 8}, cls.shape());
            for (int i = 0; i < 3; i++)
                for (int d = 0; d < 8; d++) {
                    assertEquals(t[(i * 17) * 8 + d], c[i * 8 + d]);
                    double s = 0;
                    for (int j = 1; j < 17; j++) s += t[(i * 17 + j) * 8 + d];
                    assertEquals(s / 16, mu[i * 8 + d], 1e-6);
                }
        }
    }

    @Test
    void anEncoderOfACallersModelRefusesCallsAfterCloseAndLeavesTheModelOpen() {
        try (Model m = Model.create(CONFIG, TestData.device(), 1);
                Tensor x = images(1, 63)) {
            Encoder e = Encoder.of(m);
            e.close();
            assertTrue(e.isClosed());
            IllegalStateException refused =
                    assertThrows(IllegalStateException.class, () -> e.embed(x, Encoder.Output.CLS));
            assertTrue(refused.getMessage().contains("closed"), refused.getMessage());
            assertTrue(!m.isClosed(), "the caller's model stays open");
            try (Tensor encoded = m.encode(x)) {
                assertEquals(17, encoded.shape()[1]);
            }
        }
    }

    @Test
    void aFineTunedClassifierServesItsPooledFeatures(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("vit.safetensors");
        try (Classifier c = Classifier.create(CONFIG, 5, 0.1, TestData.device(), 2);
                Tensor x = images(2, 62)) {
            c.save(file);
            try (Encoder e = Encoder.load(file, CONFIG, TestData.device());
                    Tensor f = e.embed(x, Encoder.Output.MEAN);
                    Tensor direct = c.features(x)) {
                // the encoder's products read its weights reordered for oneDNN: equal to float32 rounding
                TestData.assertClose(direct.toDoubleArray(), f.toDoubleArray(), 1e-6, "pooled features");
                assertThrows(IllegalArgumentException.class, () -> e.embed(x, Encoder.Output.CLS));
            }
        }
    }

    @Test
    void batchesAboveTheLimitAreRefused(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("mae.safetensors");
        try (Model m = Model.create(CONFIG, TestData.device(), 1)) {
            m.save(file);
        }
        try (Encoder e = Encoder.load(file, CONFIG, TestData.device(), 4);
                Tensor x = images(5, 63)) {
            IllegalArgumentException ex =
                    assertThrows(IllegalArgumentException.class, () -> e.embed(x, Encoder.Output.CLS));
            assertTrue(ex.getMessage().contains("limit of 4"), ex.getMessage());
        }
        // weights that record their architecture take the limit too
        try (Encoder e = Encoder.load(file, TestData.device(), 4);
                Tensor x = images(5, 63)) {
            assertEquals(4, e.maxBatch());
            assertThrows(IllegalArgumentException.class, () -> e.embed(x, Encoder.Output.CLS));
        }
        assertThrows(IllegalArgumentException.class, () -> Encoder.load(file, TestData.device(), 0));
    }

    @Test
    void eightThreadsGetExactlyTheSerialResults() throws Exception {
        int threads = 8, calls = 50;
        try (Model m = Model.create(CONFIG, TestData.device(), 3);
                Encoder e = Encoder.of(m)) {
            List<float[]> serial = new ArrayList<>();
            List<Tensor> inputs = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                inputs.add(images(1 + i % 4, 100 + i));
                try (Tensor f = e.embed(inputs.get(i), Encoder.Output.MEAN)) {
                    serial.add(f.toFloatArray());
                }
            }
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                CountDownLatch start = new CountDownLatch(1);
                List<Future<Integer>> results = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int offset = t;
                    results.add(pool.submit(() -> {
                        start.await();
                        for (int c = 0; c < calls; c++) {
                            int i = (offset + c) % inputs.size();
                            try (Tensor f = e.embed(inputs.get(i), Encoder.Output.MEAN)) {
                                assertArrayEquals(serial.get(i), f.toFloatArray(), "input " + i);
                            }
                        }
                        return calls;
                    }));
                }
                start.countDown();
                int done = 0;
                for (Future<Integer> f : results) done += f.get();
                assertEquals(threads * calls, done);
            } finally {
                pool.shutdownNow();
                inputs.forEach(Tensor::close);
            }
        }
    }

    @Test
    void closingWhileThreadsEmbedNeverCrashes(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("mae.safetensors");
        try (Model m = Model.create(CONFIG, TestData.device(), 1)) {
            m.save(file);
        }
        Encoder e = Encoder.load(file, CONFIG, TestData.device());
        ExecutorService pool = Executors.newFixedThreadPool(4);
        java.util.concurrent.CountDownLatch everyThreadEmbedded = new java.util.concurrent.CountDownLatch(4);
        java.util.concurrent.atomic.AtomicLong closedAt = new java.util.concurrent.atomic.AtomicLong(Long.MAX_VALUE);
        java.util.concurrent.atomic.AtomicInteger finishedAfterClose = new java.util.concurrent.atomic.AtomicInteger();
        try (Tensor x = images(8, 64)) {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < 4; t++)
                results.add(pool.submit(() -> {
                    int ok = 0;
                    while (true) {
                        try (Tensor f = e.embed(x, Encoder.Output.TOKENS)) {
                            assertEquals(8 * 17 * 8, f.toFloatArray().length);
                            if (System.nanoTime() > closedAt.get()) finishedAfterClose.incrementAndGet();
                            if (ok++ == 0) everyThreadEmbedded.countDown();
                        } catch (IllegalStateException closed) {
                            assertTrue(closed.getMessage().contains("is closed"), closed.getMessage());
                            return ok;
                        }
                    }
                }));
            // every thread has embedded, and a call is inside the library when close() starts
            assertTrue(everyThreadEmbedded.await(2, java.util.concurrent.TimeUnit.MINUTES));
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MINUTES.toNanos(2);
            while (NativeCalls.inFlight() == 0) {
                if (System.nanoTime() > deadline)
                    org.junit.jupiter.api.Assertions.fail("no embed call entered the library within 2 minutes");
                Thread.onSpinWait();
            }
            closedAt.set(System.nanoTime());
            e.close();
            for (Future<Integer> f : results)
                assertTrue(
                        f.get(2, java.util.concurrent.TimeUnit.MINUTES) >= 1, "every thread embedded before the close");
            assertTrue(e.isClosed());
            assertTrue(finishedAfterClose.get() >= 1, "the call in flight at close() finished with its result");
        } finally {
            pool.shutdownNow();
        }
    }
}
