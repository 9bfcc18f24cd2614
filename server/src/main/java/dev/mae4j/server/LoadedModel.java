package dev.mae4j.server;

import dev.mae4j.Device;
import dev.mae4j.Encoder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** An encoder loaded from a weights file, with the id responses carry: the file's name and its SHA-256's first 12 hex digits. */
record LoadedModel(Encoder encoder, String id) {
    static LoadedModel load(Path weights, ServerOptions o) throws IOException {
        String id = weights.getFileName() + "@" + sha256(weights).substring(0, 12);
        Encoder e = o.architecture == null
                ? Encoder.load(weights, o.device, o.maxBatch)
                : Encoder.load(weights, o.architecture, o.device, o.maxBatch);
        try {
            if (o.bf16 && !o.device.equals(Device.cpu())) throw new IllegalArgumentException("bf16 is a CPU mode");
            if (o.bf16) e.setBf16(true);
            return new LoadedModel(e, id);
        } catch (RuntimeException ex) {
            e.close();
            throw ex;
        }
    }

    private static String sha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JDK has SHA-256
        }
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
