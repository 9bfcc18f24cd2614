package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The project venv's Python (./run-tests makes it), for tests whose reference is PyTorch or transformers itself. */
final class Venv {
    private Venv() {}

    record Result(int exit, String output) {}

    /** The venv's python, required (TestData.assumeBuilt) to import {@code modules}. */
    static Path python(String modules) throws Exception {
        Path venv = Path.of("..", ".venv", "bin", "python").toAbsolutePath().normalize();
        String reason = null;
        if (!Files.isExecutable(venv)) reason = venv + " is missing (./run-tests makes it)";
        else if (run(List.of(venv.toString(), "-c", "import " + modules)).exit != 0)
            reason = "the venv lacks one of " + modules + " (./run-tests installs them)";
        TestData.assumeBuilt(reason == null, reason);
        return venv;
    }

    // Output to a file, so that a hung interpreter is stopped by the time limit instead of blocking a read.
    static Result run(List<String> command) throws IOException, InterruptedException {
        Path log = Files.createTempFile("mae4j-python", ".log");
        try {
            Process p = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly().waitFor();
                return new Result(-1, "timed out after 5 minutes:\n" + Files.readString(log));
            }
            return new Result(p.exitValue(), Files.readString(log));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** Runs src/test/python/{@code script} with {@code args}; fails with its output unless it exits 0. */
    static String script(Path python, String script, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                python.toString(),
                Path.of("src/test/python", script).toAbsolutePath().toString()));
        cmd.addAll(List.of(args));
        Result r = run(cmd);
        assertEquals(0, r.exit, script + " " + String.join(" ", args) + ":\n" + r.output);
        return r.output;
    }
}
