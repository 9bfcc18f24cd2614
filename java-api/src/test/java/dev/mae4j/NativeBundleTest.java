package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The jar's native folder: extracted once per content, safely under concurrency, redone when damaged. */
class NativeBundleTest {
    private static final String DIR = "bundle/";

    @TempDir
    Path tmp;

    // A class path holding bundle/ with the given files and a correct index.
    private ClassLoader bundle(String... namesAndContents) throws Exception {
        Path cp = Files.createDirectories(tmp.resolve("cp-" + System.nanoTime()));
        Path dir = Files.createDirectories(cp.resolve(DIR));
        StringBuilder index = new StringBuilder();
        for (int i = 0; i < namesAndContents.length; i += 2) {
            byte[] bytes = namesAndContents[i + 1].getBytes(StandardCharsets.UTF_8);
            Files.write(dir.resolve(namesAndContents[i]), bytes);
            String sha = HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
            index.append(sha)
                    .append(' ')
                    .append(bytes.length)
                    .append(' ')
                    .append(namesAndContents[i])
                    .append('\n');
        }
        Files.writeString(dir.resolve(NativeBundle.INDEX), index);
        return new URLClassLoader(new URL[] {cp.toUri().toURL()}, null);
    }

    @Test
    void extractsEveryFileOnceAndReusesTheFolder() throws Exception {
        ClassLoader cl = bundle("libmae.so", "mae bytes", "libtorch_cpu.so", "torch bytes");
        Path root = tmp.resolve("cache");
        Path dir = NativeBundle.extract(cl, DIR, root);
        assertEquals("mae bytes", Files.readString(dir.resolve("libmae.so")));
        assertEquals("torch bytes", Files.readString(dir.resolve("libtorch_cpu.so")));
        Files.setLastModifiedTime(
                dir.resolve(NativeBundle.INDEX), FileTime.from(Instant.parse("2020-01-01T00:00:00Z")));
        assertEquals(dir, NativeBundle.extract(cl, DIR, root));
        assertEquals(
                FileTime.from(Instant.parse("2020-01-01T00:00:00Z")),
                Files.getLastModifiedTime(dir.resolve(NativeBundle.INDEX)),
                "a complete folder is not rewritten");
    }

    @Test
    void anotherBuildGetsAnotherFolderAndSharesUnchangedFiles() throws Exception {
        Path root = tmp.resolve("cache");
        Path a = NativeBundle.extract(bundle("libmae.so", "build 1", "libtorch_cpu.so", "torch"), DIR, root);
        Path b = NativeBundle.extract(bundle("libmae.so", "build 2", "libtorch_cpu.so", "torch"), DIR, root);
        assertFalse(a.equals(b));
        assertEquals("build 1", Files.readString(a.resolve("libmae.so")));
        assertEquals("build 2", Files.readString(b.resolve("libmae.so")));
        assertTrue(
                Files.isSameFile(a.resolve("libtorch_cpu.so"), b.resolve("libtorch_cpu.so")),
                "the unchanged library is one blob, hard-linked into both folders");
    }

    /** Eight extractors released at once, 20 times over: the race is in the timing, so it is run repeatedly. */
    @Test
    void manyExtractorsAtOnceAgreeOnOneCompleteFolder() throws Exception {
        ClassLoader cl = bundle("libmae.so", "m".repeat(100_000), "libc10.so", "c".repeat(50_000));
        int n = 8;
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            for (int round = 0; round < 20; round++) {
                Path root = tmp.resolve("cache-" + round);
                CountDownLatch start = new CountDownLatch(1);
                List<Future<Path>> results = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    results.add(pool.submit(() -> {
                        start.await();
                        return NativeBundle.extract(cl, DIR, root);
                    }));
                }
                start.countDown();
                Set<Path> dirs = new HashSet<>();
                for (Future<Path> f : results) dirs.add(f.get());
                assertEquals(1, dirs.size(), "round " + round);
                Path dir = dirs.iterator().next();
                assertEquals("m".repeat(100_000), Files.readString(dir.resolve("libmae.so")));
                assertEquals("c".repeat(50_000), Files.readString(dir.resolve("libc10.so")));
                try (Stream<Path> left = Files.list(root)) {
                    assertEquals(
                            List.of(),
                            left.map(p -> p.getFileName().toString())
                                    .filter(s -> s.contains(".tmp"))
                                    .toList(),
                            "no temporary folder is left behind");
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aDamagedFolderIsDetectedAndExtractedAgain() throws Exception {
        ClassLoader cl = bundle("libmae.so", "mae bytes", "libc10.so", "c10 bytes");
        Path root = tmp.resolve("cache");
        Path dir = NativeBundle.extract(cl, DIR, root);
        // What a JVM killed mid-copy, or a hand, leaves behind: a truncated file, and a file missing.
        Files.delete(dir.resolve("libc10.so"));
        Files.writeString(dir.resolve("libc10.so"), "c10");
        assertEquals(dir, NativeBundle.extract(cl, DIR, root));
        assertEquals("c10 bytes", Files.readString(dir.resolve("libc10.so")));
        Files.delete(dir.resolve("libmae.so"));
        assertEquals(dir, NativeBundle.extract(cl, DIR, root));
        assertEquals("mae bytes", Files.readString(dir.resolve("libmae.so")));
    }

    @Test
    void aFolderWithoutItsIndexCountsAsHalfWritten() throws Exception {
        ClassLoader cl = bundle("libmae.so", "mae bytes");
        Path root = tmp.resolve("cache");
        Path dir = NativeBundle.extract(cl, DIR, root);
        byte[] index = Files.readAllBytes(dir.resolve(NativeBundle.INDEX));
        Files.delete(dir.resolve(NativeBundle.INDEX));
        assertFalse(NativeBundle.complete(dir, index, NativeBundle.parse(index)));
        assertEquals(dir, NativeBundle.extract(cl, DIR, root));
        assertTrue(Files.isRegularFile(dir.resolve(NativeBundle.INDEX)));
    }

    @Test
    void staleTemporaryFoldersOfDeadJvmsAreRemoved() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("cache"));
        Path old = Files.createDirectories(root.resolve("0123456789ab.tmp-42"));
        Files.writeString(old.resolve("libtorch_cpu.so"), "half");
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minusSeconds(3 * 3600)));
        Path fresh = Files.createDirectories(root.resolve("0123456789ab.tmp-43"));
        NativeBundle.extract(bundle("libmae.so", "x"), DIR, root);
        assertFalse(Files.exists(old), "a temporary folder hours old belongs to no running JVM");
        assertTrue(Files.exists(fresh), "a fresh one may belong to a JVM extracting now");
    }

    @Test
    void aFileThatDoesNotMatchItsHashIsRefusedByName() throws Exception {
        ClassLoader cl = bundle("libmae.so", "mae bytes");
        Path index = Path.of(((URLClassLoader) cl).getURLs()[0].toURI()).resolve(DIR + NativeBundle.INDEX);
        Files.writeString(index, "f".repeat(64) + " 9 libmae.so\n");
        IOException e = assertThrows(IOException.class, () -> NativeBundle.extract(cl, DIR, tmp.resolve("cache")));
        assertTrue(e.getMessage().contains("libmae.so") && e.getMessage().contains("does not match"), e.getMessage());
    }

    @Test
    void indexLinesThatCouldEscapeTheFolderAreRefused() {
        for (String bad : List.of("0".repeat(64) + " 1 ../libc.so", "0".repeat(64) + " 1 .hidden", "abc 1 libmae.so")) {
            MaeException e =
                    assertThrows(MaeException.class, () -> NativeBundle.parse(bad.getBytes(StandardCharsets.UTF_8)));
            assertTrue(e.getMessage().contains("malformed"), e.getMessage());
        }
    }

    @Test
    void noBundleOnTheClassPathIsNull() throws Exception {
        assertNull(NativeBundle.extract(new URLClassLoader(new URL[0], null), DIR, tmp.resolve("cache")));
    }

    /** The loaded process maps LibTorch only from the folder extracted from the jar: nothing of a system copy. */
    @Test
    void everyLibTorchMappingLiesInsideTheExtractedFolder() throws Exception {
        assumeTrue(
                System.getProperty(NativeLibrary.PATH_PROPERTY) == null,
                "libmae comes from -Dmae.library.path, not from the jar");
        Library.torchVersion(); // loads libmae
        Path dir = NativeLibrary.path().getParent().toRealPath();
        List<String> mapped = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            int slash = line.indexOf('/');
            if (slash < 0) continue;
            String file = line.substring(slash).trim();
            String name = Path.of(file).getFileName().toString();
            if (name.matches("lib(torch|torch_cpu|c10|gomp|mae|jpeg)\\b.*")) mapped.add(file);
        }
        assertNotNull(dir);
        assertTrue(mapped.stream().anyMatch(f -> f.endsWith("/libtorch_cpu.so")), "libtorch_cpu is mapped: " + mapped);
        for (String f : mapped) {
            assertTrue(Path.of(f).startsWith(dir), f + " is mapped from outside the extracted folder " + dir);
        }
    }
}
