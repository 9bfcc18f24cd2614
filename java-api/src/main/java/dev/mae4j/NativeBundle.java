package dev.mae4j;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * The folder of native libraries the mae4j-native jar carries (libmae and the LibTorch it loads, found through its
 * {@code $ORIGIN} run path), extracted once per content into a cache folder.
 *
 * <p>The jar's {@code bundle.index} lists each file as {@code sha256 size name}; the folder is named after the
 * index's own hash, so another build never reuses it. Each file is first written to {@code blobs/<sha256>} (checked
 * against its hash while it is written, then renamed into place) and hard-linked into a temporary folder, which is
 * renamed to its final name only when complete: several JVMs may extract at once (one rename wins, the others use
 * its folder), a JVM killed mid-way leaves only temporary names, and a final folder whose files do not match the
 * index (truncated or edited by hand) is moved aside and extracted again. Unchanged LibTorch files are shared
 * between builds through their blobs.
 */
final class NativeBundle {
    static final String INDEX = "bundle.index";
    static final String CACHE_PROPERTY = "mae.cache.dir";
    // Temporary folders older than this were left by a JVM that died while extracting.
    private static final Duration STALE = Duration.ofHours(1);

    record Entry(String sha256, long size, String name) {}

    private NativeBundle() {}

    /** The cache root: -Dmae.cache.dir, else $XDG_CACHE_HOME/mae4j, else ~/.cache/mae4j. */
    static Path defaultRoot() {
        String property = System.getProperty(CACHE_PROPERTY);
        if (property != null && !property.isBlank()) return Path.of(property);
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) return Path.of(xdg, "mae4j");
        return Path.of(System.getProperty("user.home"), ".cache", "mae4j");
    }

    /**
     * Extracts the bundle under {@code resourceDir} (ending in '/') of {@code loader} into {@code root} unless a
     * complete copy is there, and returns its folder; null when the class path carries no bundle.
     */
    static Path extract(ClassLoader loader, String resourceDir, Path root) throws IOException {
        byte[] index;
        try (InputStream in = loader.getResourceAsStream(resourceDir + INDEX)) {
            if (in == null) return null;
            index = in.readAllBytes();
        }
        List<Entry> entries = parse(index);
        Path dir = root.resolve(HexFormat.of().formatHex(sha256(index), 0, 12));
        // Another JVM may rename its complete folder into place, or replace a damaged one, at any moment between
        // these steps: a folder is moved aside only when it is still incomplete, and a lost race is tried again.
        for (int attempt = 1; ; attempt++) {
            if (complete(dir, index, entries)) return dir;
            Files.createDirectories(root);
            removeStale(root);
            if (Files.exists(dir) && !complete(dir, index, entries)) moveAsideAndDelete(dir);
            extractInto(loader, resourceDir, root, dir, index, entries);
            if (complete(dir, index, entries)) return dir;
            if (attempt == 3)
                throw new IOException("the native library folder " + dir + " is incomplete after extraction");
        }
    }

    // The files into a temporary folder beside dir, then renamed to dir unless another JVM's folder is there.
    private static void extractInto(
            ClassLoader loader, String resourceDir, Path root, Path dir, byte[] index, List<Entry> entries)
            throws IOException {
        Path blobs = Files.createDirectories(root.resolve("blobs"));
        Path tmp = Files.createTempDirectory(root, dir.getFileName() + ".tmp-");
        try {
            for (Entry e : entries) {
                Path blob = blob(loader, resourceDir, blobs, e);
                Path target = tmp.resolve(e.name());
                try {
                    Files.createLink(target, blob);
                } catch (IOException | UnsupportedOperationException notLinkable) {
                    Files.copy(blob, target);
                }
            }
            Files.write(tmp.resolve(INDEX), index);
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileSystemException taken) {
                // Another JVM renamed its folder first (Linux reports "Directory not empty"): as good as ours.
                if (!Files.isDirectory(dir)) throw taken;
            }
        } finally {
            deleteTree(tmp);
        }
    }

    static List<Entry> parse(byte[] index) {
        List<Entry> entries = new ArrayList<>();
        for (String line : new String(index, StandardCharsets.UTF_8).split("\n")) {
            if (line.isBlank()) continue;
            String[] f = line.trim().split(" ");
            if (f.length != 3 || f[0].length() != 64 || f[2].contains("/") || f[2].startsWith(".")) {
                throw new MaeException("malformed line in the native bundle's " + INDEX + ": '" + line + "'");
            }
            entries.add(new Entry(f[0], Long.parseLong(f[1]), f[2]));
        }
        return entries;
    }

    /** Whether dir holds this index and every file at its size (hashes were checked when the blobs were made). */
    static boolean complete(Path dir, byte[] index, List<Entry> entries) throws IOException {
        try {
            Path saved = dir.resolve(INDEX);
            if (!Files.isRegularFile(saved) || !java.util.Arrays.equals(Files.readAllBytes(saved), index)) return false;
            for (Entry e : entries) {
                Path f = dir.resolve(e.name());
                if (!Files.isRegularFile(f) || Files.size(f) != e.size()) return false;
            }
            return true;
        } catch (java.nio.file.NoSuchFileException movedAsideMeanwhile) {
            return false;
        }
    }

    // blobs/<sha256>, written from the jar under a temporary name and renamed once its hash is right.
    private static Path blob(ClassLoader loader, String resourceDir, Path blobs, Entry e) throws IOException {
        Path blob = blobs.resolve(e.sha256());
        if (Files.isRegularFile(blob) && Files.size(blob) == e.size()) return blob;
        Path tmp = Files.createTempFile(blobs, e.sha256() + ".", ".tmp");
        try {
            MessageDigest digest = newSha256();
            try (InputStream raw = loader.getResourceAsStream(resourceDir + e.name())) {
                if (raw == null) throw new IOException("the native bundle lists " + e.name() + " but the jar lacks it");
                try (InputStream in = new DigestInputStream(raw, digest);
                        OutputStream out = Files.newOutputStream(tmp)) {
                    in.transferTo(out);
                }
            }
            String got = HexFormat.of().formatHex(digest.digest());
            if (!got.equals(e.sha256()) || Files.size(tmp) != e.size()) {
                throw new IOException("the jar's " + e.name() + " does not match its " + INDEX + " entry (sha256 " + got
                        + ", " + Files.size(tmp) + " bytes; expected " + e.sha256() + ", " + e.size() + ")");
            }
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("r-xr-xr-x"));
            try {
                Files.move(tmp, blob, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException unexpected) {
                Files.move(tmp, blob, StandardCopyOption.REPLACE_EXISTING);
            }
            return blob;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void moveAsideAndDelete(Path dir) throws IOException {
        Path aside = dir.resolveSibling(
                dir.getFileName() + ".stale-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        try {
            Files.move(dir, aside, StandardCopyOption.ATOMIC_MOVE);
        } catch (java.nio.file.NoSuchFileException alreadyGone) {
            return;
        }
        deleteTree(aside);
    }

    // Temporary folders and blobs of JVMs that died while extracting.
    private static void removeStale(Path root) {
        Instant before = Instant.now().minus(STALE);
        for (Path folder : List.of(root, root.resolve("blobs"))) {
            if (!Files.isDirectory(folder)) continue;
            try (Stream<Path> children = Files.list(folder)) {
                for (Path p : children.toList()) {
                    String name = p.getFileName().toString();
                    if ((name.contains(".tmp") || name.contains(".stale-"))
                            && Files.getLastModifiedTime(p).toInstant().isBefore(before)) {
                        deleteTree(p);
                    }
                }
            } catch (IOException | UncheckedIOException bestEffort) {
                // Another JVM may be cleaning the same folder.
            }
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> children = Files.list(p)) {
                for (Path c : children.toList()) deleteTree(c);
            }
        }
        Files.deleteIfExists(p);
    }

    static byte[] sha256(byte[] bytes) {
        return newSha256().digest(bytes);
    }

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
