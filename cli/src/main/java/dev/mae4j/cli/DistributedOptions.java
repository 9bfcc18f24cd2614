package dev.mae4j.cli;

import dev.mae4j.Device;
import dev.mae4j.ProcessGroup;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * Data-parallel training as torchrun runs it: `--nproc-per-node N` starts N workers of the same command on this
 * machine; each worker (or a process that a scheduler started with RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT
 * set) joins the group and trains on its shard of the data.
 */
final class DistributedOptions {
    @Option(
            names = "--nproc-per-node",
            description = "Worker processes to start on this machine (data parallelism; "
                    + "each takes --batch images per micro-batch).")
    int nprocPerNode = 1;

    @Option(
            names = "--nnodes",
            description = "Machines in the job, each started with the same command and its --node-rank.")
    int nnodes = 1;

    @Option(names = "--node-rank", description = "This machine's index in [0, --nnodes).")
    int nodeRank = 0;

    @Option(names = "--master-addr", description = "Host of rank 0, which serves the rendezvous store (MASTER_ADDR).")
    String masterAddr = "127.0.0.1";

    @Option(names = "--master-port", description = "Port of that store (MASTER_PORT).")
    int masterPort = 29500;

    @Option(
            names = "--dist-timeout",
            description = "Seconds to wait for the other ranks, at the start and in every "
                    + "collective, before stopping with an error.")
    int distTimeout = 300;

    /** The environment the worker decision reads; tests replace it. */
    Map<String, String> environment = System.getenv();

    /** What is wrong with these options, or null. */
    String problem() {
        if (nprocPerNode < 1) return "--nproc-per-node must be >= 1, got " + nprocPerNode;
        if (nnodes < 1) return "--nnodes must be >= 1, got " + nnodes;
        if (nodeRank < 0 || nodeRank >= nnodes) return "--node-rank must be in [0, " + nnodes + "), got " + nodeRank;
        if (masterPort < 1 || masterPort > 65535) return "--master-port must be in [1, 65535], got " + masterPort;
        if (distTimeout < 1) return "--dist-timeout must be >= 1 second, got " + distTimeout;
        return null;
    }

    /** Whether this process should start the workers rather than train (asked for several, and not one itself). */
    boolean launches() {
        return nprocPerNode * nnodes > 1 && !environment.containsKey("WORLD_SIZE");
    }

    Launcher launcher() {
        return new Launcher(nprocPerNode, nnodes, nodeRank, masterAddr, masterPort);
    }

    /** This process's place: a rank of the group the environment names, or alone (rank 0 of 1, no options). */
    record Role(ProcessGroup.Options options, int rank, int ranks) {
        /** Whether this rank writes the run's files (metrics, weights, report). */
        boolean main() {
            return rank == 0;
        }

        /** Where this rank logs its metrics: OUT/metrics.jsonl for rank 0, OUT/logs/metrics-rank-R.jsonl for the others. */
        java.nio.file.Path metricsFile(java.nio.file.Path out) throws java.io.IOException {
            java.nio.file.Path file = main()
                    ? out.resolve("metrics.jsonl")
                    : out.resolve("logs").resolve("metrics-rank-" + rank + ".jsonl");
            java.nio.file.Files.createDirectories(file.getParent());
            return file;
        }

        /** Added to augmentation seeds so that ranks draw their own crops for batch i; 0 for rank 0, as alone. */
        long augmentationSalt() {
            return rank * 0x9E3779B97F4A7C15L;
        }

        /** Says which rank this is and where the group meets, when there is a group. */
        void printRank() {
            if (ranks > 1)
                System.out.printf("rank %d of %d (%s:%d)%n", rank, ranks, options.masterAddr(), options.masterPort());
        }

        /** Joins the group (blocking until all ranks arrive), or null when alone. */
        ProcessGroup join() {
            return options == null ? null : ProcessGroup.join(options);
        }
    }

    /**
     * The device a --device value means for this process: a bare "cuda" is this worker's own GPU, cuda:LOCAL_RANK,
     * as torchrun scripts pick it (an explicit cuda:N is kept).
     */
    Device device(String spec) {
        Device d = Device.parse(spec);
        String local = environment.get("LOCAL_RANK");
        if (d.type() == Device.Type.CUDA && spec.trim().equalsIgnoreCase("cuda") && local != null) {
            try {
                return Device.cuda(Integer.parseInt(local.trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        "environment variable LOCAL_RANK must be an integer, got '" + local + "'");
            }
        }
        return d;
    }

    Role role(Device device) {
        Optional<ProcessGroup.Options> o = ProcessGroup.fromEnvironment(
                        environment, device, Duration.ofSeconds(distTimeout))
                .filter(g -> g.worldSize() > 1);
        return o.map(g -> new Role(g, g.rank(), g.worldSize())).orElse(new Role(null, 0, 1));
    }
}
