package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Data-parallel training on Gloo over loopback: two ranks with half the batch each train exactly as one process
 * with the whole batch, stay identical, resume exactly, and a rank that dies or never comes ends the others'
 * training with PeerFailureException within the timeout.
 */
@Tag("process")
class DistributedTest {
    static final MaeConfig CONFIG =
            MaeConfig.tiny().toBuilder().precision(DType.F64).normPixLoss(true).build();
    private static final int IMG = 2 * 8 * 8;

    // Our builds (CI, ./run-tests) always have Gloo; only the GPU bundle, built against whatever LibTorch a device
    // has, may lack its headers, and says so with -Dmae.allowMissingGloo=true.
    @org.junit.jupiter.api.BeforeAll
    static void glooIsBuiltIn() {
        boolean gloo = ProcessGroup.isAvailable(ProcessGroup.Backend.GLOO);
        if (Boolean.getBoolean("mae.allowMissingGloo"))
            org.junit.jupiter.api.Assumptions.assumeTrue(gloo, "this libmae was built without Gloo headers");
        assertTrue(gloo, "libmae was built without Gloo: apt install libgloo-dev and rebuild");
    }

    static int freePort() throws IOException {
        return FreePort.find();
    }

    /** Runs body(rank) for each rank on a thread of its own (each joins the group) and returns their results. */
    static <T> List<T> onRanks(int world, IntFunction<T> body) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(world);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int r = 0; r < world; r++) {
                int rank = r;
                futures.add(pool.submit(() -> body.apply(rank)));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : futures) out.add(f.get(120, TimeUnit.SECONDS));
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    static Map<String, double[]> parameters(Model m) {
        return values(m.parameters(), m::parameter);
    }

    static Map<String, double[]> parameters(Classifier c) {
        return values(c.parameters(), c::parameter);
    }

    private static Map<String, double[]> values(
            List<ParameterInfo> infos, java.util.function.Function<String, Tensor> read) {
        Map<String, double[]> out = new HashMap<>();
        for (ParameterInfo p : infos)
            try (Tensor t = read.apply(p.name())) {
                out.put(p.name(), t.toDoubleArray());
            }
        return out;
    }

    private static Tensor rows(double[] values, int from, int to, int rowLength, long... rowShape) {
        long[] shape = new long[rowShape.length + 1];
        shape[0] = to - from;
        System.arraycopy(rowShape, 0, shape, 1, rowShape.length);
        return Tensor.fromDoubles(Arrays.copyOfRange(values, from * rowLength, to * rowLength), shape);
    }

    @ParameterizedTest(name = "accumulation steps {0}")
    @ValueSource(ints = {1, 2})
    void twoRanksWithHalfTheBatchTrainAsOneWithTheWholeBatch(int accumulation) throws Exception {
        int n = 8, L = CONFIG.numPatches(), steps = 3, perRank = n / 2, micro = perRank / accumulation;
        double[][] pixels = new double[steps][], noise = new double[steps][];
        for (int s = 0; s < steps; s++) {
            pixels[s] = TestData.gaussian(n * IMG, 100 + s);
            noise[s] = TestData.uniform(n * L, 200 + s);
        }
        LrSchedule schedule = LrSchedule.warmupCosine(1e-2, 1e-4, 1, steps);
        Map<String, double[]> single;
        try (Model model = Model.create(CONFIG, Device.cpu(), 3);
                Trainer t = Trainer.builder(model).schedule(schedule).build()) {
            for (int s = 0; s < steps; s++)
                try (Tensor images = rows(pixels[s], 0, n, IMG, 2, 8, 8);
                        Tensor z = rows(noise[s], 0, n, L, L);
                        Masker m = Masker.fromNoise(z, 0.75)) {
                    t.step(images, m);
                }
            single = parameters(model);
        }
        int port = freePort();
        List<Map<String, double[]>> ranks = onRanks(2, rank -> {
            // rank 1 starts from other weights: the group must copy rank 0's
            try (ProcessGroup g = ProcessGroup.join(ProcessGroup.Options.of("127.0.0.1", port, rank, 2));
                    Model model = Model.create(CONFIG, Device.cpu(), rank == 0 ? 3 : 99);
                    // small buckets: many all-reduces, launched from the backward pass's hooks
                    Trainer t = Trainer.builder(model)
                            .schedule(schedule)
                            .accumulationSteps(accumulation)
                            .processGroup(g)
                            .bucketBytes(accumulation == 1 ? 25L << 20 : 2048)
                            .build()) {
                for (int s = 0; s < steps; s++)
                    for (int k = 0; k < accumulation; k++) {
                        int from = rank * perRank + k * micro;
                        try (Tensor images = rows(pixels[s], from, from + micro, IMG, 2, 8, 8);
                                Tensor z = rows(noise[s], from, from + micro, L, L);
                                Masker m = Masker.fromNoise(z, 0.75)) {
                            t.step(images, m);
                        }
                    }
                assertEquals(steps, t.stepCount());
                return parameters(model);
            }
        });
        for (String name : single.keySet()) {
            TestData.assertClose(single.get(name), ranks.get(0).get(name), 1e-10, name + " of rank 0 vs one process");
            assertArrayEquals(ranks.get(0).get(name), ranks.get(1).get(name), name + " differs between the ranks");
        }
    }

    @Test
    void twoFineTuningRanksWithHalfTheBatchTrainAsOneWithTheWholeBatch() throws Exception {
        int n = 8, steps = 3;
        double[][] pixels = new double[steps][];
        long[][] labels = new long[steps][n];
        for (int s = 0; s < steps; s++) {
            pixels[s] = TestData.gaussian(n * IMG, 300 + s);
            for (int i = 0; i < n; i++) labels[s][i] = (i * 7 + s) % 4;
        }
        LrSchedule schedule = LrSchedule.warmupCosine(1e-2, 1e-4, 1, steps);
        Map<String, double[]> single = new HashMap<>();
        double[] singleLoss = new double[steps];
        try (Classifier c = ClassifierTest.classifier(CONFIG, 5);
                FineTuner t = FineTuner.builder(c).schedule(schedule).build()) {
            for (int s = 0; s < steps; s++)
                try (Tensor images = rows(pixels[s], 0, n, IMG, 2, 8, 8);
                        Tensor y = Tensor.fromLongs(labels[s], n)) {
                    singleLoss[s] = t.step(images, y);
                }
            single.putAll(parameters(c));
        }
        int port = freePort();
        List<Object[]> ranks = onRanks(2, rank -> {
            try (ProcessGroup g = ProcessGroup.join(ProcessGroup.Options.of("127.0.0.1", port, rank, 2));
                    Classifier c = ClassifierTest.classifier(CONFIG, rank == 0 ? 5 : 77);
                    FineTuner t = FineTuner.builder(c)
                            .schedule(schedule)
                            .processGroup(g)
                            .build()) {
                double[] losses = new double[steps];
                for (int s = 0; s < steps; s++)
                    try (Tensor images = rows(pixels[s], rank * n / 2, (rank + 1) * n / 2, IMG, 2, 8, 8);
                            Tensor y = Tensor.fromLongs(
                                    Arrays.copyOfRange(labels[s], rank * n / 2, (rank + 1) * n / 2), n / 2)) {
                        losses[s] = t.step(images, y);
                    }
                return new Object[] {parameters(c), losses};
            }
        });
        for (int r = 0; r < 2; r++) {
            @SuppressWarnings("unchecked")
            Map<String, double[]> params = (Map<String, double[]>) ranks.get(r)[0];
            for (String name : single.keySet())
                TestData.assertClose(
                        single.get(name), params.get(name), 1e-10, name + " of rank " + r + " vs one process");
            TestData.assertClose(singleLoss, (double[]) ranks.get(r)[1], 1e-12, "losses of rank " + r);
        }
    }

    @Test
    void stepsReturnTheLossAveragedOverTheRanks() throws Exception {
        int port = freePort();
        List<double[]> losses = onRanks(2, rank -> {
            try (ProcessGroup g = ProcessGroup.join(ProcessGroup.Options.of("127.0.0.1", port, rank, 2));
                    Model model = Model.create(CONFIG, Device.cpu(), 3);
                    Trainer t = Trainer.builder(model)
                            .learningRate(0)
                            .processGroup(g)
                            .build();
                    Tensor images = Tensor.fromDoubles(TestData.gaussian(2 * IMG, 10 + rank), 2, 2, 8, 8);
                    Masker alone = Masker.random(0.75, rank);
                    Masker together = Masker.random(0.75, rank)) {
                double local;
                try (ForwardResult r = model.forward(images, alone)) {
                    local = r.loss();
                }
                return new double[] {local, t.step(images, together)};
            }
        });
        double mean = (losses.get(0)[0] + losses.get(1)[0]) / 2;
        assertEquals(mean, losses.get(0)[1], 1e-12);
        assertEquals(mean, losses.get(1)[1], 1e-12);
    }

    @Test
    void collectivesSumBroadcastAndGather() throws Exception {
        int port = freePort();
        List<Object[]> out = onRanks(3, rank -> {
            try (ProcessGroup g = ProcessGroup.join(ProcessGroup.Options.of("127.0.0.1", port, rank, 3));
                    Tensor t = Tensor.fromDoubles(new double[] {rank, 10 * rank}, 2)) {
                g.broadcast(t, 2);
                g.barrier();
                return new Object[] {
                    g.allReduceSum(1.5, rank),
                    g.allReduceSum(rank + 1L)[0],
                    t.toDoubleArray(),
                    g.allGather(new byte[rank + 1])
                };
            }
        });
        for (Object[] r : out) {
            assertArrayEquals(new double[] {4.5, 3}, (double[]) r[0]);
            assertEquals(6L, r[1]);
            assertArrayEquals(new double[] {2, 20}, (double[]) r[2]);
            byte[][] gathered = (byte[][]) r[3];
            for (int k = 0; k < 3; k++) assertEquals(k + 1, gathered[k].length);
        }
    }

    @Test
    void fitShardsTheDataAndAResumedRunRepeatsTheUninterruptedOne(@TempDir Path dir) throws Exception {
        ImageDataset data = TestData.dataset(CONFIG, 24, 5);
        LrSchedule schedule = LrSchedule.warmupCosine(1e-2, 1e-4, 2, 6);
        int port = freePort();
        List<Map<String, double[]>> straight =
                onRanks(2, rank -> fitRank(rank, port, data, schedule, dir.resolve("a"), 6, null));
        Path checkpoint = dir.resolve("b");
        int port2 = freePort();
        onRanks(2, rank -> fitRank(rank, port2, data, schedule, checkpoint, 3, null));
        int port3 = freePort();
        List<Map<String, double[]>> resumed =
                onRanks(2, rank -> fitRank(rank, port3, data, schedule, checkpoint, 6, checkpoint));
        for (String name : straight.get(0).keySet()) {
            assertArrayEquals(straight.get(0).get(name), resumed.get(0).get(name), name + " after resuming");
            assertArrayEquals(
                    straight.get(0).get(name), straight.get(1).get(name), name + " differs between the ranks");
        }
    }

    /**
     * Each rank trains on its own shard: over one epoch the ranks read disjoint halves of the data that together are
     * all of it (were every rank handed rank 0's shard, the ranks would stay identical and training would go on,
     * on duplicated data).
     */
    @Test
    void fitHandsEachRankItsOwnShard() throws Exception {
        ImageDataset data = TestData.dataset(CONFIG, 16, 5);
        LrSchedule schedule = LrSchedule.warmupCosine(1e-2, 1e-4, 1, 2);
        int port = freePort();
        // two updates of 4 images on each of 2 ranks: one epoch of 16
        List<java.util.Set<Integer>> seen = onRanks(2, rank -> {
            java.util.Set<Integer> read = java.util.concurrent.ConcurrentHashMap.newKeySet();
            List<Integer> all = java.util.Collections.synchronizedList(new ArrayList<>());
            ImageDataset recording = new ImageDataset() {
                public int size() {
                    return data.size();
                }

                public int channels() {
                    return data.channels();
                }

                public int height() {
                    return data.height();
                }

                public int width() {
                    return data.width();
                }

                public void copyNormalised(int index, float[] dst, int offset) {
                    all.add(index);
                    read.add(index);
                    data.copyNormalised(index, dst, offset);
                }
            };
            try (ProcessGroup g = ProcessGroup.join(ProcessGroup.Options.of("127.0.0.1", port, rank, 2));
                    Model model = Model.create(CONFIG, Device.cpu(), 3);
                    Trainer t = Trainer.builder(model)
                            .schedule(schedule)
                            .processGroup(g)
                            .build();
                    Masker m = Masker.random(0.75, 40 + rank)) {
                t.fit(recording, m, new Fit(4, 2, 8, null, null, 1, null), u -> true);
            } catch (IOException | InterruptedException e) {
                throw new RuntimeException(e);
            }
            assertEquals(8, all.size(), "rank " + rank + " read its 8 images once each: " + all);
            return read;
        });
        assertEquals(8, seen.get(0).size());
        assertEquals(8, seen.get(1).size());
        java.util.Set<Integer> both = new java.util.HashSet<>(seen.get(0));
        both.retainAll(seen.get(1));
        assertEquals(java.util.Set.of(), both, "no image is read by both ranks");
        java.util.Set<Integer> union = new java.util.TreeSet<>(seen.get(0));
        union.addAll(seen.get(1));
        assertEquals(16, union.size(), "together the ranks read the whole epoch");
    }

    /** README: "a NaN on any rank skips the update on all". Rank 1 alone gets a poisoned batch. */
    @Test
    void aNonFiniteLossOnOneRankSkipsTheUpdateOnEvery() throws Exception {
        int port = freePort();
        List<Object[]> results = onRanks(2, rank -> {
            double[] clean = TestData.gaussian(2 * IMG, 10 + rank), poisoned = clean.clone();
            if (rank == 1) poisoned[7] = Double.NaN;
            try (ProcessGroup g = ProcessGroup.join(ProcessGroup.Options.of("127.0.0.1", port, rank, 2));
                    Model model = Model.create(CONFIG, Device.cpu(), 3);
                    Trainer t = Trainer.builder(model)
                            .learningRate(1e-2)
                            .processGroup(g)
                            .build();
                    Tensor good = Tensor.fromDoubles(clean, 2, 2, 8, 8);
                    Tensor bad = Tensor.fromDoubles(poisoned, 2, 2, 8, 8);
                    Masker masker = Masker.random(0.75, rank)) {
                t.step(good, masker);
                Map<String, double[]> before = parameters(model);
                double loss = t.step(bad, masker); // rank 0's own batch is clean
                Map<String, double[]> after = parameters(model);
                t.step(good, masker);
                return new Object[] {loss, t.skippedUpdates(), before, after, parameters(model)};
            }
        });
        for (int r = 0; r < 2; r++) {
            Object[] x = results.get(r);
            // each rank reports its own loss when the window is skipped: rank 1's NaN, rank 0's finite one
            assertEquals(r == 1, Double.isNaN((double) x[0]), "rank " + r + "'s loss " + x[0]);
            assertEquals(1L, x[1], "rank " + r + " skipped the update");
            @SuppressWarnings("unchecked")
            Map<String, double[]> before = (Map<String, double[]>) x[2], after = (Map<String, double[]>) x[3];
            for (String name : before.keySet())
                assertArrayEquals(before.get(name), after.get(name), "rank " + r + " " + name);
        }
        @SuppressWarnings("unchecked")
        Map<String, double[]> a = (Map<String, double[]>) results.get(0)[4],
                b = (Map<String, double[]>) results.get(1)[4];
        for (String name : a.keySet()) assertArrayEquals(a.get(name), b.get(name), name + ": the ranks stay identical");
    }

    // Fits `updates` updates of batch 4 per rank, saving a checkpoint at `save` and starting from `resume` if given.
    private static Map<String, double[]> fitRank(
            int rank, int port, ImageDataset data, LrSchedule schedule, Path save, long updates, Path resume) {
        try (ProcessGroup g = ProcessGroup.join(ProcessGroup.Options.of("127.0.0.1", port, rank, 2));
                Model model = Model.create(CONFIG, Device.cpu(), 3 + rank);
                Trainer t = Trainer.builder(model)
                        .schedule(schedule)
                        .processGroup(g)
                        .build();
                Masker m = Masker.random(0.75, 40 + rank)) {
            if (resume != null) {
                t.loadCheckpoint(resume, m);
                assertEquals(3, t.stepCount());
            }
            t.fit(data, m, new Fit(4, updates, 8, null, save, 3, null), u -> true);
            return parameters(model);
        } catch (IOException | InterruptedException e) {
            throw new RuntimeException(e);
        }
    }

    @Test
    void shardsFollowDistributedSampler() {
        ImageDataset data = TestData.dataset(CONFIG, 10, 1);
        try (BatchLoader alone = new BatchLoader(data, 1, 4, 0, 0, 1);
                BatchLoader r0 = new BatchLoader(data, 1, 4, 0, 0, 1, null, 0, 3);
                BatchLoader r1 = new BatchLoader(data, 1, 4, 0, 0, 1, null, 1, 3);
                BatchLoader r2 = new BatchLoader(data, 1, 4, 0, 0, 1, null, 2, 3)) {
            int[] order = alone.permutation(2);
            // 10 images over 3 ranks: padded to 12 by repeating the first two, rank r takes positions r, r + 3, ...
            int[] padded = Arrays.copyOf(order, 12);
            padded[10] = order[0];
            padded[11] = order[1];
            BatchLoader[] shards = {r0, r1, r2};
            for (int r = 0; r < 3; r++) {
                int[] expected = new int[4];
                for (int i = 0; i < 4; i++) expected[i] = padded[r + 3 * i];
                assertArrayEquals(expected, shards[r].shardOrder(2), "rank " + r);
                assertEquals(4, shards[r].batchesPerEpoch());
            }
            assertArrayEquals(order, alone.shardOrder(2));
        }
    }

    @Test
    void ranksWithDifferentModelsAreRefusedOnEveryRank() throws Exception {
        int port = freePort();
        List<String> errors = onRanks(2, rank -> {
            MaeConfig c = rank == 0
                    ? CONFIG
                    : CONFIG.toBuilder().depth(CONFIG.depth() + 1).build();
            try (ProcessGroup g = ProcessGroup.join(ProcessGroup.Options.of("127.0.0.1", port, rank, 2));
                    Model model = Model.create(c, Device.cpu(), 3)) {
                return assertThrows(
                                IllegalArgumentException.class,
                                () -> Trainer.builder(model).processGroup(g).build())
                        .getMessage();
            }
        });
        for (String e : errors) assertTrue(e.contains("rank 1's model differs from rank 0's"), e);
    }

    @Test
    void aRankThatNeverArrivesFailsWithinTheTimeout() throws Exception {
        long t0 = System.nanoTime();
        var options = ProcessGroup.Options.of("127.0.0.1", freePort(), 0, 2).withTimeout(Duration.ofSeconds(2));
        PeerFailureException e = assertThrows(PeerFailureException.class, () -> ProcessGroup.join(options));
        double secs = (System.nanoTime() - t0) / 1e9;
        assertTrue(secs < 30, "took " + secs + " s");
        assertTrue(e.getMessage().contains("rank 0 of 2"), e.getMessage());
    }

    @Test
    void aKilledRankStopsTheOthersWithAnError() throws Exception {
        int port = freePort();
        // the launcher's class path (e.g. JUnit's console launcher keeps the tests off java.class.path) or our own
        String classPath = System.getProperty("mae.test.classpath", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                classPath));
        String lib = System.getProperty("mae.library.path");
        if (lib != null) cmd.add("-Dmae.library.path=" + lib);
        cmd.addAll(List.of(DistributedChild.class.getName(), Integer.toString(port), "1", "2", "10000"));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        ProcessGroup joined;
        try {
            // a timeout far above the bound below: only Gloo noticing the closed connection can stop the step in time
            joined = ProcessGroup.join(
                    ProcessGroup.Options.of("127.0.0.1", port, 0, 2).withTimeout(Duration.ofSeconds(300)));
        } catch (PeerFailureException e) {
            child.destroyForcibly();
            throw new AssertionError(
                    "rank 1 never joined; its output:\n"
                            + new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                    e);
        }
        try (ProcessGroup group = joined;
                Model model = Model.create(CONFIG, Device.cpu(), 1);
                Trainer trainer = Trainer.builder(model).processGroup(group).build();
                Masker masker = Masker.random(0.75, 0);
                Tensor images = Tensor.fromDoubles(TestData.gaussian(2 * IMG, 0), 2, 2, 8, 8)) {
            BufferedReader out =
                    new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            for (int i = 0; i < 3; i++) trainer.step(images, masker);
            for (String line; (line = out.readLine()) != null && !line.startsWith("step 2"); ) {}
            child.destroyForcibly();
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            long t0 = System.nanoTime();
            PeerFailureException e = assertThrows(PeerFailureException.class, () -> {
                for (int i = 0; i < 1000; i++) trainer.step(images, masker);
            });
            double secs = (System.nanoTime() - t0) / 1e9;
            assertTrue(secs < 30, "noticed the dead rank after " + secs + " s: not at once (the timeout is 300 s)");
            assertTrue(e.getMessage().contains("all-reduce"), e.getMessage());
        } finally {
            child.destroyForcibly();
        }
    }
}
