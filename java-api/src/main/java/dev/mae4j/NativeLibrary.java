package dev.mae4j;

import dev.mae4j.bindings.Mae;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads libmae once per class loader: from the path in the system property {@code mae.library.path}
 * when set, else from the folder bundled in the mae4j-native jar (libmae with the LibTorch it was built against,
 * extracted once per content by {@link NativeBundle}). Refuses a library of another ABI version.
 */
final class NativeLibrary {
    static final String PATH_PROPERTY = "mae.library.path";
    static final String THREADS_PROPERTY = "mae.threads";
    // Not a package name ("native" is a keyword), so any module may read it, named or not.
    static final String RESOURCE_DIR = "dev/mae4j/native/linux-x86_64/";

    private NativeLibrary() {}

    private static final class Holder {
        static final Path LOADED = load();
    }

    /** Makes sure libmae is loaded and compatible; cheap after the first call. */
    static void ensureLoaded() {
        var unused = Holder.LOADED;
    }

    static Path path() {
        return Holder.LOADED;
    }

    private static Path load() {
        String override = System.getProperty(PATH_PROPERTY);
        Path lib = override != null ? Path.of(override) : extractBundled();
        if (!Files.isRegularFile(lib)) {
            throw new MaeException("libmae not found at " + lib + " (set by -D" + PATH_PROPERTY + ")");
        }
        try {
            System.load(lib.toAbsolutePath().toString());
        } catch (UnsatisfiedLinkError e) {
            throw new MaeException(
                    "cannot load libmae from " + lib + ": " + e.getMessage()
                            + (override != null
                                    ? " (a libmae built outside the jar needs its LibTorch where its run path says)"
                                    : ""),
                    e);
        }
        checkAbi(Mae.mae_abi_version(), lib);
        configureThreads();
        return lib;
    }

    /** Throws unless the library speaks the ABI these bindings were generated from. */
    static void checkAbi(int libraryVersion, Path lib) {
        if (libraryVersion != Mae.MAE_ABI_VERSION()) {
            throw new MaeException("libmae at " + lib + " has ABI version " + libraryVersion
                    + " but this mae4j needs version " + Mae.MAE_ABI_VERSION()
                    + ": rebuild libmae from the same mae4j release (mvn install)");
        }
    }

    private static void configureThreads() {
        int threads = startThreads(System.getProperty(THREADS_PROPERTY), System.getenv());
        Downcall.run(() -> Mae.mae_set_num_threads(threads));
    }

    /**
     * The intra-op threads at load: as PyTorch, every core this process may use (OMP_NUM_THREADS when a launcher
     * set it); -Dmae.threads=N overrides it. Step threads take their share of these per shard.
     */
    static int startThreads(String property, java.util.Map<String, String> environment) {
        if (property == null) return Library.cores(environment);
        try {
            int n = Integer.parseInt(property.trim());
            if (n >= 1) return n;
        } catch (NumberFormatException e) {
            // below
        }
        throw new MaeException("-D" + THREADS_PROPERTY + " must be a positive integer, got '" + property + "'");
    }

    private static Path extractBundled() {
        Path root = NativeBundle.defaultRoot();
        Path dir;
        try {
            dir = NativeBundle.extract(NativeLibrary.class.getClassLoader(), RESOURCE_DIR, root);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot extract mae4j's native libraries into " + root + " (choose a writable folder with -D"
                            + NativeBundle.CACHE_PROPERTY + "=DIR)",
                    e);
        }
        if (dir == null) {
            throw new MaeException("libmae is not bundled on the class path (resource " + RESOURCE_DIR
                    + NativeBundle.INDEX + "); add mae4j-native or set -D" + PATH_PROPERTY + "=/path/to/libmae.so");
        }
        return dir.resolve("libmae.so");
    }

    /** A C string as a Java string; null for NULL. */
    static String string(MemorySegment cString) {
        return cString.equals(MemorySegment.NULL)
                ? null
                : cString.reinterpret(Long.MAX_VALUE).getString(0);
    }
}
