package dev.mae4j.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Reloads the weights when their file changes: its modification time, size or file key (a rename over it, as mae4j's
 * own writers do) differs from the last seen and has held still for one more check, so a file still being written is
 * not read half-way.
 */
final class WeightsWatcher implements AutoCloseable {
    private record Stamp(Object key, long modified, long size) {}

    private final Path file;
    private final EmbeddingService service;
    private final Consumer<String> report;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "mae4j-weights-watcher");
        t.setDaemon(true);
        return t;
    });
    private Stamp loaded, seen;

    WeightsWatcher(EmbeddingService service, Duration every, Consumer<String> report) {
        this.file = service.weights();
        this.service = service;
        this.report = report;
        this.loaded = stamp();
        this.seen = loaded;
        timer.scheduleWithFixedDelay(this::check, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void check() {
        Stamp now = stamp();
        if (now == null || now.equals(loaded)) {
            seen = now;
            return;
        }
        if (!now.equals(seen)) { // changed since the last check: wait for it to hold still
            seen = now;
            return;
        }
        loaded = now;
        try {
            report.accept("weights changed: serving " + service.reload());
        } catch (IOException | RuntimeException e) {
            report.accept("weights changed but were not reloaded (the previous ones stay): " + e.getMessage());
        }
    }

    private Stamp stamp() {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            return new Stamp(
                    Objects.requireNonNullElse(a.fileKey(), ""),
                    a.lastModifiedTime().toMillis(),
                    a.size());
        } catch (IOException e) {
            return null; // between a delete and a rename: look again later
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
