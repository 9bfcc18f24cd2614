package dev.mae4j.examples.service;

import dev.mae4j.Device;
import dev.mae4j.Encoder;
import dev.mae4j.MaeConfig;
import dev.mae4j.Model;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A bounded load test on loopback: CLIENTS threads each send REQUESTS images to /embed, one at a time, with
 * micro-batching (up to MAX_BATCH, waiting up to WAIT µs) and without it (MAX_BATCH 1); prints throughput and
 * latency percentiles as a markdown table.
 *
 * <pre>java -cp ... dev.mae4j.examples.service.LoadBenchmark [WEIGHTS|fashion-mnist-small] [CLIENTS] [REQUESTS] [MAX_BATCH] [WAIT]</pre>
 */
public final class LoadBenchmark {
    public static void main(String[] args) throws Exception {
        String weights = args.length > 0 ? args[0] : "fashion-mnist-small";
        int clients = args.length > 1 ? Integer.parseInt(args[1]) : 16;
        int requests = args.length > 2 ? Integer.parseInt(args[2]) : 100;
        int maxBatch = args.length > 3 ? Integer.parseInt(args[3]) : 32;
        long wait = args.length > 4 ? Long.parseLong(args[4]) : 2000;
        Model fresh = weights.equals("fashion-mnist-small")
                ? Model.create(MaeConfig.fashionMnistSmall(), Device.cpu(), 0)
                : null;
        try (fresh;
                Encoder encoder = fresh != null ? Encoder.of(fresh) : Encoder.load(Path.of(weights), Device.cpu())) {
            byte[] png = image(encoder.config().imgSize());
            System.out.println(
                    "| max batch | wait (µs) | clients | requests | requests/s | mean batch | p50 (ms) | p95 (ms) | p99 (ms) |");
            System.out.println("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
            for (int batch : new int[] {1, maxBatch}) {
                try (EmbeddingServer server = new EmbeddingServer(encoder, 0, batch, batch == 1 ? 0 : wait)) {
                    run(server, png, clients, Math.max(1, requests / 10)); // warm-up
                    long t0 = System.nanoTime();
                    double[] latencies = run(server, png, clients, requests);
                    double secs = (System.nanoTime() - t0) / 1e9;
                    Arrays.sort(latencies);
                    System.out.printf(
                            "| %d | %d | %d | %d | %.0f | %.1f | %.1f | %.1f | %.1f |%n",
                            batch,
                            batch == 1 ? 0 : wait,
                            clients,
                            latencies.length,
                            latencies.length / secs,
                            server.meanBatchSize(),
                            pct(latencies, 50),
                            pct(latencies, 95),
                            pct(latencies, 99));
                }
            }
        }
    }

    private static double pct(double[] sorted, double p) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100 * sorted.length) - 1)];
    }

    /** Each client's requests, in order; returns every latency in milliseconds. */
    static double[] run(EmbeddingServer server, byte[] png, int clients, int requests) throws Exception {
        HttpClient http = HttpClient.newBuilder()
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .build();
        URI uri = URI.create("http://127.0.0.1:" + server.port() + "/embed");
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            List<Future<double[]>> futures = new ArrayList<>();
            for (int c = 0; c < clients; c++)
                futures.add(pool.submit(() -> {
                    double[] ms = new double[requests];
                    for (int i = 0; i < requests; i++) {
                        long t = System.nanoTime();
                        HttpResponse<String> r = http.send(
                                HttpRequest.newBuilder(uri)
                                        .POST(HttpRequest.BodyPublishers.ofByteArray(png))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() != 200)
                            throw new IllegalStateException("HTTP " + r.statusCode() + ": " + r.body());
                        ms[i] = (System.nanoTime() - t) / 1e6;
                    }
                    return ms;
                }));
            double[] all = new double[clients * requests];
            for (int c = 0; c < clients; c++) System.arraycopy(futures.get(c).get(), 0, all, c * requests, requests);
            return all;
        } finally {
            pool.shutdownNow();
        }
    }

    static byte[] image(int size) throws java.io.IOException {
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) img.setRGB(x, y, (x * 9 + y * 3) * 0x010101 & 0xffffff);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        javax.imageio.ImageIO.write(img, "png", out);
        return out.toByteArray();
    }
}
