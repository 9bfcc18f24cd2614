package dev.mae4j;

import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Batches of a dataset, prepared ahead of the trainer on a thread of their own. Batch {@code b} (counting
 * from 0 over the whole run) is position {@code b mod batchesPerEpoch} of epoch {@code b div batchesPerEpoch};
 * each epoch visits the images in its own permutation drawn from the seed, and the last partial batch is
 * dropped. So a run can restart at any batch and see exactly the data it would have seen.
 *
 * <p>Sharded over {@code ranks} processes it follows PyTorch's DistributedSampler: every rank draws the same
 * epoch permutation, pads it by repeating its start to a multiple of {@code ranks}, and takes every
 * {@code ranks}-th index from position {@code rank}.
 */
public final class BatchLoader implements AutoCloseable {
    /** One batch; the caller closes its tensor. */
    public record Batch(long index, long epoch, Tensor images) {}

    /** Turns a batch into another (e.g. augmentation); the loader closes the input when a new tensor comes back. */
    @FunctionalInterface
    public interface Transform {
        Tensor apply(Tensor batch, long batchIndex);

        /**
         * Batch {@code batchIndex} — images {@code indices} of {@code data} — transformed; what the loader calls. This
         * reads the images as the dataset stores them and applies {@link #apply}; a transform whose first step needs
         * the files themselves (crops at full resolution: {@link RandomResizedCrop#apply(ImageDataset, int[], int,
         * java.util.Random)}) overrides it, doing for stored batches what {@link #apply} does.
         */
        default Tensor load(ImageDataset data, int[] indices, long batchIndex) {
            Tensor t = data.batch(indices);
            Tensor out;
            try {
                out = apply(t, batchIndex);
            } catch (RuntimeException e) {
                t.close();
                throw e;
            }
            if (out != t) t.close();
            return out;
        }
    }

    private static final Object END = new Object();

    private final ImageDataset data;
    private final int batchSize;
    private final long seed;
    private final int rank, ranks;
    private final Transform transform;
    private final BlockingQueue<Object> queue;
    private final Thread producer;
    private volatile boolean closed;
    private long waitNanos;

    /** Starts preparing batches {@code first}, {@code first + 1}, ... up to (excluding) {@code end}. */
    public BatchLoader(ImageDataset data, int batchSize, long seed, long first, long end, int prefetch) {
        this(data, batchSize, seed, first, end, prefetch, (batch, index) -> batch);
    }

    /** As above, each batch passed through {@code transform} on the loading thread. */
    public BatchLoader(
            ImageDataset data, int batchSize, long seed, long first, long end, int prefetch, Transform transform) {
        this(data, batchSize, seed, first, end, prefetch, transform, 0, 1);
    }

    /** As above, over rank {@code rank}'s shard of each epoch (of {@code ranks} shards). */
    public BatchLoader(
            ImageDataset data,
            int batchSize,
            long seed,
            long first,
            long end,
            int prefetch,
            Transform transform,
            int rank,
            int ranks) {
        if (ranks < 1 || rank < 0 || rank >= ranks)
            throw new IllegalArgumentException("need 0 <= rank < ranks, got rank " + rank + " of " + ranks);
        int shard = shardSize(data.size(), ranks);
        if (batchSize <= 0 || batchSize > shard)
            throw new IllegalArgumentException("batch size must be in [1, " + shard + "]"
                    + (ranks > 1 ? " (this rank's " + shard + " of " + data.size() + " images)" : "") + ", got "
                    + batchSize);
        if (first < 0 || end < first)
            throw new IllegalArgumentException("need 0 <= first <= end, got " + first + ", " + end);
        if (prefetch < 1) throw new IllegalArgumentException("prefetch must be >= 1, got " + prefetch);
        this.data = data;
        this.batchSize = batchSize;
        this.seed = seed;
        this.rank = rank;
        this.ranks = ranks;
        this.transform = transform;
        this.queue = new ArrayBlockingQueue<>(prefetch);
        this.producer = Thread.ofPlatform().daemon().name("mae4j-batches").start(() -> produce(first, end));
    }

    public long batchesPerEpoch() {
        return shardSize(data.size(), ranks) / batchSize;
    }

    // Images per rank and epoch: DistributedSampler's ceil(N / ranks), the padding repeating the order's start.
    private static int shardSize(int images, int ranks) {
        return (int) ((images + (long) ranks - 1) / ranks);
    }

    /** This rank's image indices of epoch {@code epoch}, in the order they are visited. */
    public int[] shardOrder(long epoch) {
        int[] order = permutation(epoch);
        if (ranks == 1) return order;
        int[] mine = new int[shardSize(order.length, ranks)];
        for (int i = 0; i < mine.length; i++) mine[i] = order[(rank + i * ranks) % order.length];
        return mine;
    }

    /** The image indices of epoch {@code epoch}, in the order they are visited. */
    public int[] permutation(long epoch) {
        int[] order = new int[data.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Random r = new Random(seed * 1_000_003L + epoch);
        for (int i = order.length - 1; i > 0; i--) { // Fisher–Yates
            int j = r.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** The image indices of batch {@code batchIndex} (e.g. to look up its labels); call from one thread. */
    public int[] indices(long batchIndex) {
        long epoch = batchIndex / batchesPerEpoch();
        if (epoch != indexedEpoch) {
            indexedOrder = shardOrder(epoch);
            indexedEpoch = epoch;
        }
        int start = (int) (batchIndex % batchesPerEpoch()) * batchSize;
        return java.util.Arrays.copyOfRange(indexedOrder, start, start + batchSize);
    }

    private long indexedEpoch = -1;
    private int[] indexedOrder;

    private void produce(long first, long end) {
        try {
            long perEpoch = batchesPerEpoch();
            long epoch = -1;
            int[] order = null;
            int[] chosen = new int[batchSize];
            for (long b = first; b < end && !closed; b++) {
                if (b / perEpoch != epoch) {
                    epoch = b / perEpoch;
                    order = shardOrder(epoch);
                }
                int start = (int) (b % perEpoch) * batchSize;
                System.arraycopy(order, start, chosen, 0, batchSize);
                queue.put(new Batch(b, epoch, transform.load(data, chosen, b)));
            }
            queue.put(END);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            try {
                queue.put(e);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The next batch, or null after the last; rethrows a failure of the loading thread. */
    public Batch next() throws InterruptedException {
        long t0 = System.nanoTime();
        Object o = queue.take();
        waitNanos += System.nanoTime() - t0;
        if (o == END) {
            queue.put(END);
            return null;
        }
        if (o instanceof RuntimeException e)
            throw new IllegalStateException("loading batches failed: " + e.getMessage(), e);
        return (Batch) o;
    }

    /** Seconds the caller spent waiting in {@link #next} for data. */
    public double waitSeconds() {
        return waitNanos / 1e9;
    }

    @Override
    public void close() {
        closed = true;
        producer.interrupt();
        try {
            producer.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Object o; (o = queue.poll()) != null; )
            if (o instanceof Batch b) b.images().close();
    }
}
