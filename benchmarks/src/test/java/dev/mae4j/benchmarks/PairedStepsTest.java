package dev.mae4j.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The benchmark harness: the C++ driver's twin control, Java steps beside the driver's, and steps in turns. */
class PairedStepsTest {
    @TempDir
    Path dir;

    /** PairedSteps with these arguments; its usage and error messages go to {@code err}. */
    private static int run(StringWriter err, String... args) {
        return new CommandLine(new PairedSteps())
                .setErr(new PrintWriter(err, true))
                .execute(args);
    }

    @Tag("process")
    @Test
    void cppDriversTwinRunsTheSameStepBesideIt() throws Exception {
        // the A/A control of --alternate-native (benchmarks/pairs.sh TWIN=1): two models of their own, the same step
        Path driver = Path.of("../native/target/cmake/benchmarks/native/mae_train_step_driver")
                .toAbsolutePath();
        dev.mae4j.TestData.assumeBuilt(
                Files.isExecutable(driver), "no C++ driver at " + driver + " (mvn -Pbenchmarks builds it)");
        Process p = new ProcessBuilder(
                        driver.toString(),
                        "--config",
                        "fashion-mnist",
                        "--batch",
                        "2",
                        "--steps",
                        "3",
                        "--warmup",
                        "1",
                        "--twin",
                        "1")
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        com.fasterxml.jackson.databind.JsonNode line =
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.strip());
        assertEquals(3, line.get("ms_in_order").size(), out);
        assertEquals(3, line.get("twin_ms_in_order").size(), out);
        // same seeds, images and masks: the twin's fourth loss is the driver's, so both did the same work
        assertEquals(
                line.get("last_loss").asDouble(), line.get("twin_last_loss").asDouble(), 0.0, out);
        assertTrue(line.get("last_loss").asDouble() > 0, out);
    }

    @Test
    void javaStepsAlternateWithTheCppDriversStepsEachJavaStepWithTheCppDriversStep() throws Exception {
        // built beside libmae by the native module (benchmarks/native)
        Path lib = Path.of("../native/target/cmake/benchmarks/native/libmae_train_step_driver_in_jvm.so")
                .toAbsolutePath();
        dev.mae4j.TestData.assumeBuilt(
                Files.isRegularFile(lib), "no driver library at " + lib + " (mvn -Pbenchmarks builds it)");
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.out;
        try {
            System.setOut(new java.io.PrintStream(captured, true, StandardCharsets.UTF_8));
            assertEquals(
                    0,
                    run(
                            new StringWriter(),
                            "--config",
                            "fashion-mnist",
                            "--batch",
                            "2",
                            "--steps",
                            "3",
                            "--warmup",
                            "0",
                            "--step-threads",
                            "1",
                            "--alternate-native",
                            lib.toString()));
        } finally {
            System.setOut(old);
        }
        com.fasterxml.jackson.databind.JsonNode line = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(captured.toString(StandardCharsets.UTF_8)
                        .lines()
                        .filter(l -> l.startsWith("{"))
                        .findFirst()
                        .orElseThrow());
        com.fasterxml.jackson.databind.JsonNode javaMs = line.get("java_ms_in_order"),
                cppMs = line.get("cpp_ms_in_order");
        assertEquals(3, javaMs.size(), line.toString());
        assertEquals(3, cppMs.size(), line.toString());
        double[] over = new double[3];
        for (int i = 0; i < 3; i++) {
            assertTrue(javaMs.get(i).asDouble() > 0 && cppMs.get(i).asDouble() > 0, line.toString());
            over[i] = 100 * (javaMs.get(i).asDouble() / cppMs.get(i).asDouble() - 1);
        }
        java.util.Arrays.sort(over);
        assertEquals(over[1], line.get("java_over_cpp_pct_median").asDouble(), 1e-9, line.toString());

        StringWriter err = new StringWriter();
        assertEquals(
                2,
                run(
                        err,
                        "--alternate-native",
                        lib.toString(),
                        "--turns",
                        dir.resolve("t").toString()));
        assertTrue(err.toString().contains("mutually exclusive"), err.toString());
        err = new StringWriter();
        assertEquals(
                1,
                run(
                        err,
                        "--config",
                        "fashion-mnist",
                        "--batch",
                        "2",
                        "--steps",
                        "1",
                        "--warmup",
                        "0",
                        "--alternate-native",
                        dir.resolve("missing.so").toString()));
        assertTrue(err.toString().contains("no library at"), err.toString());
    }

    @Tag("process")
    @Test
    // opening a pipe blocks until its other end opens: a run that failed before its pipes must not hang the suite
    @org.junit.jupiter.api.Timeout(
            value = 5,
            unit = java.util.concurrent.TimeUnit.MINUTES,
            threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
    void javaTakesEveryStepOnlyWhenGivenItsTurnOnlyWhenGivenItsTurn() throws Exception {
        // the coordinator's side of benchmarks/python/lockstep.py, played by this test
        Path prefix = dir.resolve("java");
        for (String end : new String[] {".from", ".to"})
            assertEquals(0, new ProcessBuilder("mkfifo", prefix + end).start().waitFor());
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.out;
        java.util.concurrent.FutureTask<Integer> bench = new java.util.concurrent.FutureTask<>(() -> run(
                new StringWriter(),
                "--config",
                "fashion-mnist",
                "--batch",
                "2",
                "--steps",
                "3",
                "--warmup",
                "1",
                "--step-threads",
                "1",
                "--turns",
                prefix.toString()));
        java.util.List<String> requests = new java.util.ArrayList<>();
        try {
            System.setOut(new java.io.PrintStream(captured, true, StandardCharsets.UTF_8));
            new Thread(bench).start();
            try (java.io.BufferedReader asks = Files.newBufferedReader(Path.of(prefix + ".from"));
                    java.io.Writer turns = Files.newBufferedWriter(Path.of(prefix + ".to"))) {
                for (String ask; (ask = asks.readLine()) != null && !ask.equals("end"); ) {
                    requests.add(ask);
                    turns.write("go\n");
                    turns.flush();
                }
            }
            assertEquals(0, bench.get(5, java.util.concurrent.TimeUnit.MINUTES));
        } finally {
            System.setOut(old);
        }
        // one warm-up step, any JIT-settling ones, then the three measured steps, each asked for
        assertTrue(
                requests.size() >= 4
                        && requests.subList(0, requests.size() - 3).stream().allMatch("warm"::equals),
                requests.toString());
        assertEquals(java.util.List.of("step", "step", "step"), requests.subList(requests.size() - 3, requests.size()));
        com.fasterxml.jackson.databind.JsonNode line = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(captured.toString(StandardCharsets.UTF_8)
                        .lines()
                        .filter(l -> l.startsWith("{"))
                        .findFirst()
                        .orElseThrow());
        assertEquals(3, line.get("java_ms_in_order").size(), line.toString());

        StringWriter err = new StringWriter();
        assertEquals(
                1,
                run(
                        err,
                        "--config",
                        "fashion-mnist",
                        "--batch",
                        "2",
                        "--steps",
                        "1",
                        "--warmup",
                        "0",
                        "--turns",
                        dir.resolve("nothing").toString()));
        assertTrue(err.toString().contains("--turns: no pipes"), err.toString());
    }
}
