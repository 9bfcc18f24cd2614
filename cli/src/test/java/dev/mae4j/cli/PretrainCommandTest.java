package dev.mae4j.cli;

import dev.mae4j.Device;
import dev.mae4j.MaeConfig;
import dev.mae4j.Model;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PretrainCommandTest {
    @TempDir
    Path dir;

    private static void writeImages(Path dir, int n) throws IOException {
        ByteBuffer img = ByteBuffer.allocate(16 + n * 784).putInt(0x803).putInt(n).putInt(28).putInt(28);
        for (int i = 0; i < n * 784; i++) img.put((byte) (i * 7));
        ByteBuffer lab = ByteBuffer.allocate(8 + n).putInt(0x801).putInt(n);
        for (int i = 0; i < n; i++) lab.put((byte) (i % 10));
        gzip(dir.resolve("train-images-idx3-ubyte.gz"), img.array());
        gzip(dir.resolve("train-labels-idx1-ubyte.gz"), lab.array());
    }

    private static void gzip(Path file, byte[] content) throws IOException {
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            out.write(content);
        }
    }

    @Test
    void pretrainsAndWritesALoadableCheckpoint() throws IOException {
        writeImages(dir, 16);
        Path out = dir.resolve("run");
        int code = new CommandLine(new MaeCommand()).execute("pretrain", "--data", dir.toString(), "--out", out.toString(),
                "--steps", "3", "--batch", "4", "--log-every", "1");
        assertEquals(0, code);
        try (Model m = Model.load(out.resolve("last.safetensors"), Device.cpu())) {
            assertEquals(MaeConfig.fashionMnist(), m.config());
        }
    }

    @Test
    void missingDataIsAClearErrorNotACrash() {
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new MaeCommand());
        cli.setErr(new PrintWriter(err));
        int code = cli.execute("pretrain", "--data", dir.resolve("nothing").toString(), "--out", dir.resolve("o").toString());
        assertNotEquals(0, code);
        assertTrue(err.toString().contains("apt-get install dataset-fashion-mnist"), err.toString());
    }
}
