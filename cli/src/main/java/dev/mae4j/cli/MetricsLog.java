package dev.mae4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** metrics.jsonl: one JSON object per logged update, flushed line by line. */
final class MetricsLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final BufferedWriter out;

    /** Opens {@code file}; when resuming at {@code resumedStep}, keeps only the lines of earlier steps. */
    MetricsLog(Path file, long resumedStep) throws IOException {
        List<String> kept = new ArrayList<>();
        if (resumedStep > 0 && Files.exists(file)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.isBlank()) continue;
                if (JSON.readTree(line).path("step").asLong(Long.MAX_VALUE) <= resumedStep) kept.add(line);
            }
        }
        out = Files.newBufferedWriter(
                file,
                StandardCharsets.UTF_8,
                StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE);
        for (String line : kept) {
            out.write(line);
            out.newLine();
        }
        out.flush();
    }

    void log(long step, double epoch, double loss, double lr, double imagesPerSecond, double dataWaitFraction)
            throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", step);
        m.put("epoch", epoch);
        m.put("loss", loss);
        m.put("lr", lr);
        m.put("images_per_s", imagesPerSecond);
        m.put("data_wait_fraction", dataWaitFraction);
        out.write(JSON.writeValueAsString(m));
        out.newLine();
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
