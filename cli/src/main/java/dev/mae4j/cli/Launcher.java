package dev.mae4j.cli;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Starts this node's workers of a data-parallel job, as torchrun: each a JVM running the same `mae` command line
 * with RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set, and OMP_NUM_THREADS,
 * MKL_NUM_THREADS and OPENBLAS_NUM_THREADS splitting this machine's cores between them unless set. Rank 0 of
 * the node writes to this terminal, the others to LOGS/rank-R.log. When one worker fails, the others are stopped and its exit status is returned.
 */
record Launcher(int nprocPerNode, int nnodes, int nodeRank, String masterAddr, int masterPort) {
    int worldSize() {
        return nprocPerNode * nnodes;
    }

    int run(List<String> args, Path logs) throws IOException, InterruptedException {
        return run(MaeCommand.class.getName(), args, logs);
    }

    /** As {@link #run(List, Path)} with workers running {@code mainClass} (tests start stand-in workers). */
    int run(String mainClass, List<String> args, Path logs) throws IOException, InterruptedException {
        java.nio.file.Files.createDirectories(logs);
        List<Process> workers = new ArrayList<>();
        Thread stopAll = new Thread(() -> workers.forEach(Process::destroy));
        Runtime.getRuntime().addShutdownHook(stopAll); // Ctrl-C on the launcher ends the workers too
        try {
            for (int local = 0; local < nprocPerNode; local++) workers.add(start(local, mainClass, args, logs));
            System.out.printf(
                    "started %d workers (ranks %d-%d of %d); ranks other than %d log to %s%n",
                    nprocPerNode,
                    nodeRank * nprocPerNode,
                    (nodeRank + 1) * nprocPerNode - 1,
                    worldSize(),
                    nodeRank * nprocPerNode,
                    logs);
            return await(workers);
        } finally {
            workers.forEach(Process::destroyForcibly);
            try {
                Runtime.getRuntime().removeShutdownHook(stopAll);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running already
            }
        }
    }

    private Process start(int local, String mainClass, List<String> args, Path logs) throws IOException {
        int rank = nodeRank * nprocPerNode + local;
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current()
                .info()
                .command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        List<String> jvmArgs = ManagementFactory.getRuntimeMXBean().getInputArguments();
        cmd.addAll(jvmArgs);
        // `java -jar mae-cli.jar` grants native access through the jar's manifest, which a -cp start does not read
        if (jvmArgs.stream().noneMatch(a -> a.startsWith("--enable-native-access")))
            cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        env.put("RANK", Integer.toString(rank));
        env.put("LOCAL_RANK", Integer.toString(local));
        env.put("WORLD_SIZE", Integer.toString(worldSize()));
        env.put("LOCAL_WORLD_SIZE", Integer.toString(nprocPerNode));
        env.put("MASTER_ADDR", masterAddr);
        env.put("MASTER_PORT", Integer.toString(masterPort));
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors() / nprocPerNode);
        env.putIfAbsent("OMP_NUM_THREADS", Integer.toString(threads));
        env.putIfAbsent("MKL_NUM_THREADS", Integer.toString(threads));
        env.putIfAbsent("OPENBLAS_NUM_THREADS", Integer.toString(threads)); // its own pool, sized apart from OpenMP's
        if (local == 0) pb.inheritIO();
        else
            pb.redirectErrorStream(true)
                    .redirectOutput(logs.resolve("rank-" + rank + ".log").toFile());
        return pb.start();
    }

    // The first failure's status (the others stopped), or 0 when all succeed.
    private static int await(List<Process> workers) throws InterruptedException {
        List<Process> running = new ArrayList<>(workers);
        while (!running.isEmpty()) {
            CompletableFuture.anyOf(running.stream().map(Process::onExit).toArray(CompletableFuture[]::new))
                    .join();
            for (Process p : List.copyOf(running)) {
                if (p.isAlive()) continue;
                running.remove(p);
                if (p.exitValue() == 0) continue;
                System.err.printf(
                        "worker %d failed with status %d: stopping the others%n", workers.indexOf(p), p.exitValue());
                running.forEach(Process::destroy);
                for (Process q : running) if (!q.waitFor(10, TimeUnit.SECONDS)) q.destroyForcibly();
                return p.exitValue();
            }
        }
        return 0;
    }
}
