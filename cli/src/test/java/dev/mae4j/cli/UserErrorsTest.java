package dev.mae4j.cli;

import static dev.mae4j.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the user can fix is one line on stderr and exit status 1; a bug keeps its stack trace. */
class UserErrorsTest {
    @TempDir
    Path dir;

    @Test
    void aMissingWeightsFileIsOneLineNamingIt() {
        Path missing = dir.resolve("nothing.safetensors");
        StringWriter err = new StringWriter();
        assertEquals(
                1,
                run(
                        err,
                        "finetune",
                        "--weights",
                        missing.toString(),
                        "--data",
                        dir.toString(),
                        "--out",
                        dir.resolve("ft").toString()));
        assertEquals("mae finetune: no such file: " + missing, err.toString().strip());
    }

    @Test
    void aCorruptCheckpointIsOneLineNamingTheFileAndTheProblem() throws IOException {
        Path junk = Files.write(dir.resolve("junk.safetensors"), new byte[] {1, 2, 3});
        StringWriter err = new StringWriter();
        assertEquals(
                1,
                run(
                        err,
                        "linprobe",
                        "--weights",
                        junk.toString(),
                        "--data",
                        dir.toString(),
                        "--out",
                        dir.resolve("lp").toString()));
        String line = err.toString().strip();
        assertTrue(line.startsWith("mae linprobe: " + junk + ": ") && line.contains("8-byte header length"), line);
        assertFalse(line.contains("\n"), line);
    }

    @Test
    void onlyErrorsTheUserCanFixAreShortened() {
        assertEquals("no such file: x", UserErrors.describe(new java.nio.file.NoSuchFileException("x")));
        assertEquals(
                "batch must be positive", UserErrors.describe(new IllegalArgumentException("batch must be positive")));
        assertNull(UserErrors.describe(new NullPointerException("a bug")));
        assertNull(UserErrors.describe(new IllegalStateException("a bug")));
    }
}
