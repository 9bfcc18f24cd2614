package dev.mae4j.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Steps taken in turns with another process, for `PairedSteps --turns PREFIX` (benchmarks/python/lockstep.py): before
 * each step this process asks for its turn on the pipe PREFIX.from ("warm" or "step") and waits for "go" on
 * PREFIX.to; "end" says it has finished. The coordinator lets one side step at a time, each side first every
 * other measured step, so Java and the Python reference see the same machine from one step to the next.
 */
final class StepTurns implements AutoCloseable {
    private final Writer requests;
    private final BufferedReader turns;

    StepTurns(Path prefix) {
        Path from = Path.of(prefix + ".from"), to = Path.of(prefix + ".to");
        if (!Files.exists(from) || !Files.exists(to))
            throw new IllegalArgumentException(
                    "--turns: no pipes " + from + " and " + to + " (benchmarks/python/lockstep.py makes them)");
        try {
            requests = Files.newBufferedWriter(from, StandardCharsets.UTF_8);
            turns = Files.newBufferedReader(to, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("--turns: cannot open " + from + " and " + to, e);
        }
    }

    /** Waits for this process's turn to take a warm-up step (measured false) or a measured one. */
    void await(boolean measured) {
        try {
            requests.write(measured ? "step\n" : "warm\n");
            requests.flush();
            String go = turns.readLine();
            if (!"go".equals(go))
                throw new IllegalStateException("--turns: expected go from the coordinator, got " + go);
        } catch (IOException e) {
            throw new UncheckedIOException("--turns: the coordinator's pipe failed", e);
        }
    }

    @Override
    public void close() throws IOException {
        try (turns;
                requests) {
            requests.write("end\n");
            requests.flush();
        }
    }
}
