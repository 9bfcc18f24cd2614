package dev.mae4j;

import dev.mae4j.bindings.Mae;
import dev.mae4j.bindings.mae_process_group_config;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.Map;

/**
 * A group of processes training one model together (data parallelism), on LibTorch's c10d: Gloo on the CPU,
 * NCCL on CUDA, meeting through a TCP store that rank 0 serves at {@code masterAddr:masterPort}. Joining
 * blocks until all {@code worldSize} ranks have arrived. Every rank must make the same collective calls in
 * the same order; one that fails (a rank died, left or exceeded the timeout) throws
 * {@link PeerFailureException}, after which the group is unusable.
 *
 * <p>Give it to {@link Trainer.Builder#processGroup}: the trainer then starts from rank 0's weights, averages
 * gradients over the ranks and reads its own shard of the data in {@link Trainer#fit}.
 */
public final class ProcessGroup extends NativeResource {
    /** The collective engine: Gloo for CPU models, NCCL for CUDA ones. */
    public enum Backend {
        GLOO,
        NCCL
    }

    /** How to join; {@link #of} gives Gloo on the CPU with a five-minute timeout. */
    public record Options(
            Backend backend,
            String masterAddr,
            int masterPort,
            int rank,
            int worldSize,
            Duration timeout,
            String networkInterface,
            Device device) {
        public Options {
            if (backend == null || masterAddr == null || masterAddr.isBlank() || timeout == null || device == null)
                throw new IllegalArgumentException("backend, masterAddr, timeout and device must be given");
            if (worldSize < 1) throw new IllegalArgumentException("worldSize must be >= 1, got " + worldSize);
            if (rank < 0 || rank >= worldSize)
                throw new IllegalArgumentException("rank must be in [0, " + worldSize + "), got " + rank);
            if (masterPort < 1 || masterPort > 65535)
                throw new IllegalArgumentException("masterPort must be in [1, 65535], got " + masterPort);
            if (timeout.isNegative() || timeout.isZero())
                throw new IllegalArgumentException("timeout must be positive, got " + timeout);
            if ((backend == Backend.GLOO) != (device.type() == Device.Type.CPU))
                throw new IllegalArgumentException(backend + " does not run on " + device + " (Gloo: cpu, NCCL: cuda)");
        }

        public static Options of(String masterAddr, int masterPort, int rank, int worldSize) {
            return new Options(
                    Backend.GLOO, masterAddr, masterPort, rank, worldSize, DEFAULT_TIMEOUT, null, Device.cpu());
        }

        public Options withTimeout(Duration t) {
            return new Options(backend, masterAddr, masterPort, rank, worldSize, t, networkInterface, device);
        }

        /** For a model on {@code d}: Gloo on the CPU, NCCL on a GPU. */
        public Options on(Device d) {
            Backend b = d.type() == Device.Type.CPU ? Backend.GLOO : Backend.NCCL;
            return new Options(b, masterAddr, masterPort, rank, worldSize, timeout, networkInterface, d);
        }
    }

    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);

    private final MemorySegment handle;
    private final int rank, worldSize;

    private ProcessGroup(MemorySegment handle, int rank, int worldSize) {
        super(() -> Mae.mae_process_group_free(handle));
        this.handle = handle;
        this.rank = rank;
        this.worldSize = worldSize;
    }

    /** Whether the loaded libmae was built with {@code backend} (Gloo needs libgloo-dev's headers at build time). */
    public static boolean isAvailable(Backend backend) {
        NativeLibrary.ensureLoaded();
        int code = backend == Backend.GLOO ? Mae.MAE_BACKEND_GLOO() : Mae.MAE_BACKEND_NCCL();
        return Downcall.readInt(out -> Mae.mae_process_group_backend_available(code, out)) == 1;
    }

    /** Joins the group, blocking until every rank has arrived (or the timeout passes: PeerFailureException). */
    public static ProcessGroup join(Options o) {
        if (o == null) throw new IllegalArgumentException("options must not be null");
        NativeLibrary.ensureLoaded();
        try (Downcall d = Downcall.holding()) {
            Arena arena = d.arena();
            MemorySegment cfg = mae_process_group_config.allocate(arena);
            mae_process_group_config.backend(
                    cfg, o.backend() == Backend.GLOO ? Mae.MAE_BACKEND_GLOO() : Mae.MAE_BACKEND_NCCL());
            mae_process_group_config.master_addr(cfg, arena.allocateFrom(o.masterAddr()));
            mae_process_group_config.master_port(cfg, o.masterPort());
            mae_process_group_config.rank(cfg, o.rank());
            mae_process_group_config.world_size(cfg, o.worldSize());
            mae_process_group_config.timeout_ms(cfg, o.timeout().toMillis());
            mae_process_group_config.interface_(
                    cfg, o.networkInterface() == null ? MemorySegment.NULL : arena.allocateFrom(o.networkInterface()));
            o.device().writeTo(mae_process_group_config.device(cfg));
            MemorySegment out = d.pointer();
            d.check(Mae.mae_process_group_create(cfg, out));
            return new ProcessGroup(out.get(ValueLayout.ADDRESS, 0), o.rank(), o.worldSize());
        }
    }

    /**
     * The options torchrun's variables give: RANK, WORLD_SIZE, MASTER_ADDR (default 127.0.0.1), MASTER_PORT
     * (default 29500) and GLOO_SOCKET_IFNAME; empty when WORLD_SIZE is not set.
     */
    public static java.util.Optional<Options> fromEnvironment(
            Map<String, String> env, Device device, Duration timeout) {
        String world = env.get("WORLD_SIZE");
        if (world == null || world.isBlank()) return java.util.Optional.empty();
        int worldSize = intVar(env, "WORLD_SIZE", world);
        int rank = intVar(env, "RANK", env.getOrDefault("RANK", "0"));
        int port = intVar(env, "MASTER_PORT", env.getOrDefault("MASTER_PORT", "29500"));
        Options o = new Options(
                Backend.GLOO,
                env.getOrDefault("MASTER_ADDR", "127.0.0.1"),
                port,
                rank,
                worldSize,
                timeout,
                env.get("GLOO_SOCKET_IFNAME"),
                Device.cpu());
        return java.util.Optional.of(o.on(device));
    }

    private static int intVar(Map<String, String> env, String name, String value) {
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "environment variable " + name + " must be an integer, got '" + value + "'");
        }
    }

    public int rank() {
        return rank;
    }

    public int worldSize() {
        return worldSize;
    }

    /** Whether this is rank 0, the one that writes checkpoints, logs and reports. */
    public boolean isMain() {
        return rank == 0;
    }

    /** Returns once every rank has called it. */
    public void barrier() {
        Downcall.run(() -> Mae.mae_process_group_barrier(handle), this);
    }

    /** The element-wise sums over all ranks. */
    public double[] allReduceSum(double... values) {
        try (Tensor t = Tensor.fromDoubles(values.clone(), values.length)) {
            collective(t, view -> Mae.mae_process_group_all_reduce_sum(handle, view));
            return t.segment().toArray(ValueLayout.JAVA_DOUBLE);
        }
    }

    /** The element-wise sums over all ranks. */
    public long[] allReduceSum(long... values) {
        try (Tensor t = Tensor.fromLongs(values.clone(), values.length)) {
            collective(t, view -> Mae.mae_process_group_all_reduce_sum(handle, view));
            return t.segment().toArray(ValueLayout.JAVA_LONG);
        }
    }

    /** Rank {@code root}'s values of {@code t}, written into {@code t} on every rank (same shape and dtype). */
    public void broadcast(Tensor t, int root) {
        if (t == null) throw new IllegalArgumentException("tensor must not be null");
        if (root < 0 || root >= worldSize)
            throw new IllegalArgumentException("root must be in [0, " + worldSize + "), got " + root);
        collective(t, view -> Mae.mae_process_group_broadcast(handle, view, root));
    }

    /** Every rank's bytes, indexed by rank; the arrays may differ in length. */
    public byte[][] allGather(byte[] bytes) {
        if (bytes == null) throw new IllegalArgumentException("bytes must not be null");
        long[] lengths = new long[worldSize];
        lengths[rank] = bytes.length;
        lengths = allReduceSum(lengths);
        long longest = java.util.Arrays.stream(lengths).max().orElse(0);
        byte[][] all = new byte[worldSize][];
        if (longest == 0) {
            for (int r = 0; r < worldSize; r++) all[r] = new byte[0];
            return all;
        }
        try (Tensor mine = Tensor.zeros(DType.U8, longest)) {
            MemorySegment.copy(bytes, 0, mine.segment(), ValueLayout.JAVA_BYTE, 0, bytes.length);
            try (Downcall d = Downcall.holding(this, mine)) {
                MemorySegment out = d.pointer();
                d.check(Mae.mae_process_group_all_gather(handle, d.view(mine), out));
                try (Tensor gathered = d.adopt(out)) {
                    for (int r = 0; r < worldSize; r++)
                        all[r] = gathered.segment()
                                .asSlice(r * longest, lengths[r])
                                .toArray(ValueLayout.JAVA_BYTE);
                }
            }
        }
        return all;
    }

    private interface ViewCall {
        int call(MemorySegment view);
    }

    private void collective(Tensor t, ViewCall call) {
        try (Downcall d = Downcall.holding(this, t)) {
            d.check(call.call(d.view(t)));
        }
    }

    MemorySegment handle() {
        return handle;
    }

    /**
     * Makes a fresh native training (mae_training) data-parallel over this group; runs {@code freeOwner} (frees its
     * trainer or fine-tuner) and throws when that fails.
     */
    void attach(MemorySegment training, long bucketBytes, Runnable freeOwner) {
        if (bucketBytes <= 0) {
            freeOwner.run();
            throw new IllegalArgumentException("bucketBytes must be positive, got " + bucketBytes);
        }
        Status.check(Mae.mae_training_set_process_group(training, handle, bucketBytes), freeOwner);
    }

    @Override
    String describe() {
        return "process group";
    }

    @Override
    public String toString() {
        return "ProcessGroup[rank " + rank + " of " + worldSize + "]";
    }
}
