package dev.mae4j.benchmarks;

import dev.mae4j.DType;
import dev.mae4j.Device;
import dev.mae4j.Encoder;
import dev.mae4j.MaeConfig;
import dev.mae4j.Model;
import dev.mae4j.Tensor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * `mae serve` under load, as a child process, driven over HTTP from this JVM: (1) the encoder's own throughput,
 * {@code Encoder.embed} at the server's batch size, in this JVM before the server starts; (2) the server's throughput
 * at saturation (closed loop); (3) p50/p99 latency of honest requests at half that rate (open loop, Poisson
 * arrivals, latency from the scheduled send) with 5% decompression bombs and 5% garbage in the mix; (4) a weights
 * reload under saturation; (5) SIGTERM under saturation; and the server's peak resident memory (VmHWM) after each
 * phase. Prints one JSON line per phase.
 */
@Command(name = "serve-load", mixinStandardHelpOptions = true)
public final class ServeLoad implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "vit-tiny16", description = "Architecture of the served weights.")
    String preset;

    @Option(names = "--dir", required = true, description = "Where the weights and the server's logs go.")
    Path dir;

    @Option(names = "--max-batch", defaultValue = "16")
    int maxBatch;

    @Option(names = "--clients", defaultValue = "64", description = "Concurrent clients at saturation.")
    int clients;

    @Option(names = "--seconds", defaultValue = "10", description = "Length of each phase and round.")
    int seconds;

    @Option(names = "--rounds", defaultValue = "3", description = "Interleaved rounds of Encoder.embed and saturation.")
    int rounds;

    @Option(names = "--image-size", defaultValue = "320", description = "Side of the JPEGs sent (they are resized).")
    int imageSize;

    @Option(names = "--heap", defaultValue = "512m", description = "The server's -Xmx.")
    String heap;

    @Option(names = "--serve-arg", description = "More options for mae serve (repeatable).")
    List<String> serveArgs = new ArrayList<>();

    @Option(names = "--serve-env", description = "KEY=VALUE in the server's environment (repeatable).")
    Map<String, String> serveEnv = new HashMap<>();

    @Option(
            names = "--bombs",
            defaultValue = "server/src/test/resources/bombs",
            description = "A folder of decompression bombs (the server tests' 20000×20000 PNG and JPEG).")
    Path bombDir;

    private static final Pattern MODEL_ID = Pattern.compile("\"model_id\":\"([^\"]+)\"");

    public static void main(String[] args) {
        System.exit(new CommandLine(new ServeLoad()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Files.createDirectories(dir);
        MaeConfig config = MaeConfig.preset(preset);
        Path weights = dir.resolve(preset + ".safetensors");
        write(config, weights, 1);
        byte[][] honest = images(config.inChans(), 16);
        byte[][] bombs = {
            Files.readAllBytes(bombDir.resolve("20000x20000.png")),
            Files.readAllBytes(bombDir.resolve("20000x20000.jpg"))
        };
        byte[] garbage = "this is no image".repeat(64).getBytes();

        Process server = startServer(weights);
        try (Encoder encoder = Encoder.load(weights, Device.cpu());
                Tensor x = Tensor.zeros(DType.F32, maxBatch, config.inChans(), config.imgSize(), config.imgSize())) {
            URI base = waitReady(server);
            emit("ready", Map.of("heap", heap, "vm_hwm_mib", hwm(server)));
            HttpClient http = HttpClient.newBuilder()
                    .executor(Executors.newVirtualThreadPerTaskExecutor())
                    .build();
            embedThroughput(encoder, x, 2); // warm-up, both
            closedLoop(http, base, honest, Duration.ofSeconds(3), null);
            // Interleaved rounds on the same cores: Encoder.embed in this JVM while the server idles, then the
            // server at saturation while this JVM only sends; medians of each.
            double[] embed = new double[rounds], served = new double[rounds];
            long failed = 0, answered = 0;
            double serverCpu = 0, clientCpu = 0;
            for (int r = 0; r < rounds; r++) {
                embed[r] = embedThroughput(encoder, x, seconds);
                double s0 = cpuSeconds(server), c0 = cpuSeconds(ProcessHandle.current());
                Result sat = closedLoop(http, base, honest, Duration.ofSeconds(seconds), null);
                serverCpu += cpuSeconds(server) - s0;
                clientCpu += cpuSeconds(ProcessHandle.current()) - c0;
                served[r] = sat.rate();
                failed += sat.failed.get();
                answered += sat.ok.get();
                System.err.printf(
                        Locale.ROOT, "round %d: embed %.2f img/s, served %.2f img/s%n", r, embed[r], served[r]);
            }
            double embedRate = median(embed), satRate = median(served);
            emit("encoder", Map.of("preset", preset, "batch", maxBatch, "img_per_s", embedRate, "rounds", rounds));
            String metrics = scrape(http, base);
            Map<String, Object> saturation = new java.util.LinkedHashMap<>();
            saturation.put("clients", clients);
            saturation.put("img_per_s", satRate);
            saturation.put("share_of_embed", satRate / embedRate);
            saturation.put("failed", failed);
            saturation.put("mean_batch", meanBatch(http, base));
            saturation.put("encoder_call_ms_p50", 1000 * metric(metrics, p50("mae4j_encoder_batch_duration_seconds")));
            saturation.put("decode_ms_p50", 1000 * metric(metrics, p50("mae4j_encoder_decode_duration_seconds")));
            saturation.put("server_cpu_ms_per_image", 1000 * serverCpu / answered);
            saturation.put("client_cpu_ms_per_image", 1000 * clientCpu / answered);
            saturation.put(
                    "embed_cpu_ms_per_image", 1000.0 * Runtime.getRuntime().availableProcessors() / embedRate);
            saturation.put("vm_hwm_mib", hwm(server));
            emit("saturation", saturation);

            double rate = satRate / 2;
            Mixed mixed = openLoop(http, base, honest, bombs, garbage, rate, Duration.ofSeconds(seconds));
            emit(
                    "half_saturation",
                    Map.of(
                            "offered_per_s", rate,
                            "honest", mixed.honest.size(),
                            "honest_p50_ms", percentile(mixed.honest, 0.5),
                            "honest_p99_ms", percentile(mixed.honest, 0.99),
                            "honest_not_200", mixed.honestFailed.get(),
                            "bombs_413", mixed.bomb413.get(),
                            "garbage_400", mixed.garbage400.get(),
                            "bad_other", mixed.badOther.get(),
                            "vm_hwm_mib", hwm(server)));

            long before = hwm(server);
            Map<Integer, Long> flood = flood(http, base, Duration.ofSeconds(seconds));
            emit(
                    "flood_of_large_bodies",
                    Map.of(
                            "statuses", flood,
                            "vm_hwm_before_mib", before,
                            "vm_hwm_mib", hwm(server)));

            AtomicBoolean swapped = new AtomicBoolean();
            Result swap = closedLoop(http, base, honest, Duration.ofSeconds(seconds), elapsed -> {
                if (elapsed > seconds * 500L && swapped.compareAndSet(false, true)) {
                    write(config, weights, 2); // new weights under the same name, then the admin call
                    int status = http.send(
                                    HttpRequest.newBuilder(base.resolve("/admin/reload"))
                                            .POST(HttpRequest.BodyPublishers.noBody())
                                            .build(),
                                    HttpResponse.BodyHandlers.discarding())
                            .statusCode();
                    if (status != 200) throw new IllegalStateException("reload answered " + status);
                }
            });
            emit(
                    "swap_under_load",
                    Map.of(
                            "img_per_s", swap.rate(),
                            "failed", swap.failed.get(),
                            "answers_by_model", swap.byModel,
                            "vm_hwm_mib", hwm(server)));

            emit("sigterm_under_load", sigterm(http, base, honest, server));
        } finally {
            server.destroyForcibly();
        }
        return 0;
    }

    private static void write(MaeConfig config, Path weights, long seed) throws IOException {
        Path tmp = weights.resolveSibling(weights.getFileName() + ".tmp");
        try (Model m = Model.create(config, Device.cpu(), seed)) {
            m.save(tmp);
        }
        Files.move(tmp, weights, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Images per second of Encoder.embed on a batch of the server's size, over {@code seconds}. */
    private double embedThroughput(Encoder e, Tensor x, int seconds) {
        long t0 = System.nanoTime();
        int n = 0;
        while (n == 0 || System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(seconds)) {
            e.embed(x, Encoder.Output.CLS).close();
            n++;
        }
        return n * maxBatch / ((System.nanoTime() - t0) / 1e9);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private Process startServer(Path weights) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-Xmx" + heap,
                "-cp",
                System.getProperty("java.class.path"),
                "dev.mae4j.cli.MaeCommand",
                "serve",
                "--weights",
                weights.toString(),
                "--port",
                "0",
                "--grpc-port",
                "-1",
                "--max-batch",
                String.valueOf(maxBatch),
                "--access-log",
                dir.resolve("access.log").toString()));
        cmd.addAll(serveArgs);
        Files.deleteIfExists(dir.resolve("access.log"));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(serveEnv);
        return pb.redirectError(dir.resolve("serve.err").toFile())
                .redirectOutput(dir.resolve("serve.out").toFile())
                .start();
    }

    private URI waitReady(Process p) throws Exception {
        Pattern listening = Pattern.compile("listening: http://127\\.0\\.0\\.1:(\\d+)");
        long until = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (System.nanoTime() < until && p.isAlive()) {
            String err = Files.readString(dir.resolve("serve.err"));
            Matcher m = listening.matcher(err);
            if (err.contains("ready:") && m.find()) {
                System.err.println(err.strip());
                return URI.create("http://127.0.0.1:" + m.group(1));
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("the server did not start:\n" + Files.readString(dir.resolve("serve.err")));
    }

    /** Answers of a closed loop: count, failures, by model id, and the time they took. */
    private record Result(AtomicLong ok, AtomicLong failed, Map<String, Long> byModel, long nanos) {
        double rate() {
            return ok.get() / (nanos / 1e9);
        }
    }

    private interface Tick {
        void at(long elapsedMillis) throws Exception;
    }

    private Result closedLoop(HttpClient http, URI base, byte[][] images, Duration length, Tick tick) throws Exception {
        AtomicLong ok = new AtomicLong(), failed = new AtomicLong();
        Map<String, Long> byModel = new ConcurrentHashMap<>();
        long start = System.nanoTime(), end = start + length.toNanos();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int c = 0; c < clients; c++) {
                int client = c;
                pool.submit(() -> {
                    for (int i = 0; System.nanoTime() < end; i++) {
                        try {
                            HttpResponse<String> r = http.send(
                                    post(base, images[(client + i) % images.length]),
                                    HttpResponse.BodyHandlers.ofString());
                            if (r.statusCode() == 200) {
                                ok.incrementAndGet();
                                Matcher m = MODEL_ID.matcher(r.body());
                                if (m.find()) byModel.merge(m.group(1), 1L, Long::sum);
                            } else failed.incrementAndGet();
                        } catch (IOException e) {
                            failed.incrementAndGet();
                        }
                    }
                    return null;
                });
            }
            if (tick != null)
                while (System.nanoTime() < end) {
                    tick.at((System.nanoTime() - start) / 1_000_000);
                    Thread.sleep(20);
                }
        }
        return new Result(ok, failed, new HashMap<>(byModel), System.nanoTime() - start);
    }

    /** Honest latencies and the statuses of the bad requests of an open loop. */
    private record Mixed(
            ConcurrentLinkedQueue<Double> honest,
            AtomicLong honestFailed,
            AtomicLong bomb413,
            AtomicLong garbage400,
            AtomicLong badOther) {}

    private Mixed openLoop(
            HttpClient http, URI base, byte[][] images, byte[][] bombs, byte[] garbage, double rate, Duration length)
            throws Exception {
        Mixed m = new Mixed(
                new ConcurrentLinkedQueue<>(), new AtomicLong(), new AtomicLong(), new AtomicLong(), new AtomicLong());
        Random r = new Random(1);
        long start = System.nanoTime(), end = start + length.toNanos();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            long at = start;
            for (int i = 0; at < end; i++) {
                at += (long) (-Math.log(1 - r.nextDouble()) / rate * 1e9); // Poisson arrivals
                long scheduled = at;
                double u = r.nextDouble();
                int kind = u < 0.05 ? 1 : u < 0.10 ? 2 : 0; // 5% bombs, 5% garbage
                byte[] body = kind == 1 ? bombs[i % 2] : kind == 2 ? garbage : images[i % images.length];
                long wait = scheduled - System.nanoTime();
                if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
                pool.submit(() -> {
                    int status;
                    try {
                        status = http.send(post(base, body), HttpResponse.BodyHandlers.discarding())
                                .statusCode();
                    } catch (IOException e) {
                        status = -1;
                    }
                    double ms = (System.nanoTime() - scheduled) / 1e6;
                    if (kind == 0) {
                        if (status == 200) m.honest.add(ms);
                        else m.honestFailed.incrementAndGet();
                    } else if (kind == 1 && status == 413) m.bomb413.incrementAndGet();
                    else if (kind == 2 && status == 400) m.garbage400.incrementAndGet();
                    else m.badOther.incrementAndGet();
                    return null;
                });
            }
        }
        return m;
    }

    /**
     * Every client sends 12 MiB bodies of noise (under the 16 MiB body limit, over what the body budget holds for all
     * clients at once) as fast as it is answered: statuses by count. The peak resident memory must not follow the
     * offered bytes.
     */
    private Map<Integer, Long> flood(HttpClient http, URI base, Duration length) throws Exception {
        byte[] big = new byte[12 << 20];
        new Random(3).nextBytes(big);
        Map<Integer, Long> statuses = new ConcurrentHashMap<>();
        long end = System.nanoTime() + length.toNanos();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int c = 0; c < clients; c++)
                pool.submit(() -> {
                    while (System.nanoTime() < end) {
                        int status;
                        try {
                            status = http.send(post(base, big), HttpResponse.BodyHandlers.discarding())
                                    .statusCode();
                        } catch (IOException e) {
                            status = -1;
                        }
                        statuses.merge(status, 1L, Long::sum);
                    }
                    return null;
                });
        }
        return new HashMap<>(statuses);
    }

    /** SIGTERM after a third of a phase at saturation: every accepted request answered, none lost, exit status. */
    private Map<String, Object> sigterm(HttpClient http, URI base, byte[][] images, Process server) throws Exception {
        Map<String, Integer> seen = new ConcurrentHashMap<>();
        AtomicLong clientFailures = new AtomicLong();
        long termAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(Math.max(2, seconds / 3));
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int c = 0; c < clients; c++) {
                int client = c;
                pool.submit(() -> {
                    for (int i = 0; server.isAlive(); i++) {
                        String id = client + "-" + i;
                        try {
                            HttpResponse<Void> r = http.send(
                                    HttpRequest.newBuilder(base.resolve("/embed"))
                                            .header("X-Request-Id", id)
                                            .POST(HttpRequest.BodyPublishers.ofByteArray(
                                                    images[(client + i) % images.length]))
                                            .build(),
                                    HttpResponse.BodyHandlers.discarding());
                            seen.put(id, r.statusCode());
                        } catch (IOException e) {
                            clientFailures.incrementAndGet();
                            Thread.sleep(5);
                        }
                    }
                    return null;
                });
            }
            long wait = termAt - System.nanoTime();
            if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
            long hwm = hwm(server);
            long t0 = System.nanoTime();
            server.destroy(); // SIGTERM
            if (!server.waitFor(2, TimeUnit.MINUTES)) throw new IllegalStateException("no exit after SIGTERM");
            double drainMs = (System.nanoTime() - t0) / 1e6;
            // every request the server logged reached its client with the logged status
            long logged = 0, lost = 0, ok = 0, unavailable = 0;
            for (String line : Files.readAllLines(dir.resolve("access.log"))) {
                Matcher id = Pattern.compile("\"request_id\":\"([^\"]+)\"").matcher(line);
                Matcher st = Pattern.compile("\"status\":(\\d+)").matcher(line);
                if (!id.find() || !st.find()) continue;
                logged++;
                Integer got = seen.get(id.group(1));
                int status = Integer.parseInt(st.group(1));
                if (status == 499) continue; // its connection broke before it was read or answered: nothing claimed
                if (got == null || got != status) lost++;
                if (status == 200) ok++;
                if (status == 503) unavailable++;
            }
            Map<String, Object> out = new HashMap<>();
            out.put("exit_status", server.exitValue());
            out.put("drain_ms", drainMs);
            out.put("logged_answers", logged);
            out.put("answered_200", ok);
            out.put("answered_503", unavailable);
            out.put("logged_but_not_received", lost);
            out.put("client_connection_failures", clientFailures.get());
            out.put("vm_hwm_mib", hwm);
            return out;
        }
    }

    private static HttpRequest post(URI base, byte[] body) {
        return HttpRequest.newBuilder(base.resolve("/embed"))
                .header("Content-Type", "image/jpeg")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
    }

    /** The name of a Prometheus summary's median line, as a pattern. */
    private static String p50(String summary) {
        return summary + "\\{quantile=\"0.5\"\\}";
    }

    private static String scrape(HttpClient http, URI base) throws Exception {
        return http.send(HttpRequest.newBuilder(base.resolve("/metrics")).build(), HttpResponse.BodyHandlers.ofString())
                .body();
    }

    private static double meanBatch(HttpClient http, URI base) throws Exception {
        String text = scrape(http, base);
        return metric(text, "mae4j_encoder_batch_size_sum") / metric(text, "mae4j_encoder_batch_size_count");
    }

    private static double metric(String text, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + " (\\S+)$").matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    /** CPU seconds a process has used so far (user and system). */
    private static double cpuSeconds(Process p) {
        return cpuSeconds(p.toHandle());
    }

    private static double cpuSeconds(ProcessHandle p) {
        return p.info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(Double.NaN);
    }

    /** The process's peak resident memory so far (VmHWM), MiB. */
    private static long hwm(Process p) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(p.pid()), "status")))
            if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("\\D", "")) >> 10;
        return -1;
    }

    private static double percentile(ConcurrentLinkedQueue<Double> q, double p) {
        double[] v = q.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return v.length == 0 ? Double.NaN : v[Math.min(v.length - 1, (int) Math.ceil(p * v.length) - 1)];
    }

    /** JPEGs of smooth gradients and noise, imageSize × (3/4 imageSize), different for each index. */
    private byte[][] images(int channels, int n) throws IOException {
        byte[][] out = new byte[n][];
        Random r = new Random(7);
        int w = imageSize, h = imageSize * 3 / 4;
        for (int i = 0; i < n; i++) {
            BufferedImage img =
                    new BufferedImage(w, h, channels == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    int v = (x * (i + 1) + y * 3 + r.nextInt(32)) & 0xff;
                    img.setRGB(x, y, (v << 16) | (((x + y * i) & 0xff) << 8) | ((y * 5 + i * 20) & 0xff));
                }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            ImageIO.write(img, "jpg", bytes);
            out[i] = bytes.toByteArray();
        }
        return out;
    }

    private static void emit(String phase, Map<String, ?> fields) {
        StringBuilder b = new StringBuilder("{\"phase\":\"").append(phase).append('"');
        fields.forEach((k, v) -> b.append(",\"")
                .append(k)
                .append("\":")
                .append(v instanceof Number || v instanceof Map<?, ?> ? format(v) : "\"" + v + "\""));
        System.out.println(b.append('}'));
    }

    private static String format(Object v) {
        if (v instanceof Double d) return String.format(Locale.ROOT, "%.2f", d);
        if (v instanceof Map<?, ?> m) {
            StringBuilder b = new StringBuilder("{");
            m.forEach((k, x) -> b.append(b.length() > 1 ? "," : "")
                    .append('"')
                    .append(k)
                    .append("\":")
                    .append(x));
            return b.append('}').toString();
        }
        return String.valueOf(v);
    }
}
