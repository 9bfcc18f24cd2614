package dev.mae4j.io;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Reads the tensors of a file written by torch.save (the zip format of PyTorch ≥ 1.6): the state dict under
 * 'model', 'state_dict' or 'module' when the file holds a training checkpoint, else the top-level dict itself.
 * Floating-point tensors come back as F32 (F64 kept), integer ones as I64, each contiguous and owned by the caller.
 * It knows no tensor type of its own: the caller's {@link Tensors} makes and fills them, so this package depends on
 * nothing of the API's.
 */
public final class TorchSaveFile {
    /** The caller's tensors: made zeroed, filled through their memory, closed when reading fails. */
    public interface Tensors<T> {
        /** A new zeroed, contiguous tensor; {@code dtype} is "F32", "F64" or "I64". */
        T zeros(String dtype, long[] shape);

        /** Its memory, written in place. */
        MemorySegment data(T tensor);

        void close(T tensor);
    }

    private static final long MAX_PICKLE = 256L << 20;

    private TorchSaveFile() {}

    /** Whether {@code head} (the file's first bytes) starts a zip archive, as torch.save writes. */
    public static boolean isZip(byte[] head) {
        return head.length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;
    }

    /** The state dict's tensors in file order, made by {@code tensors}; the caller closes them. */
    public static <T> Map<String, T> read(Path file, Tensors<T> tensors) throws IOException {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            ZipEntry pkl = null;
            for (var e = zip.entries(); e.hasMoreElements(); ) {
                ZipEntry z = e.nextElement();
                if (z.getName().endsWith("/data.pkl")
                        && z.getName().indexOf('/') == z.getName().length() - "/data.pkl".length()) pkl = z;
            }
            if (pkl == null) throw new IOException(file + ": a zip without <name>/data.pkl, so not a torch.save file");
            String prefix = pkl.getName().substring(0, pkl.getName().length() - "data.pkl".length());
            ZipEntry order = zip.getEntry(prefix + "byteorder");
            if (order != null) {
                try (InputStream s = zip.getInputStream(order)) {
                    String o = new String(s.readNBytes(16)).trim();
                    if (!o.equals("little"))
                        throw new IOException(
                                file + ": tensors are stored " + o + "-endian; only little-endian is read");
                }
            }
            if (pkl.getSize() > MAX_PICKLE)
                throw new IOException(file + ": its pickle is larger than " + MAX_PICKLE + " bytes");
            byte[] pickle;
            try (InputStream s = zip.getInputStream(pkl)) {
                pickle = s.readNBytes((int) MAX_PICKLE + 1);
            }
            if (pickle.length > MAX_PICKLE) throw new IOException(file + ": its pickle is too large");
            Object root;
            try {
                root = RestrictedUnpickler.load(pickle);
            } catch (RestrictedUnpickler.PickleException e) {
                throw new IOException(file + ": " + e.getMessage(), e);
            }
            Map<?, ?> dict = stateDict(root, file);
            Map<String, T> out = new LinkedHashMap<>();
            Map<String, MemorySegment> storages = new HashMap<>();
            try (Arena storageArena = Arena.ofConfined()) { // the raw storages live only while reading
                for (var e : dict.entrySet()) {
                    if (!(e.getKey() instanceof String name)
                            || !(e.getValue() instanceof RestrictedUnpickler.TensorRef t)) continue;
                    MemorySegment storage = storages.get(t.storage().key());
                    if (storage == null) {
                        storage = readStorage(zip, prefix, t.storage(), file, storageArena);
                        storages.put(t.storage().key(), storage);
                    }
                    out.put(name, materialise(storage, t, name, file, tensors));
                }
                if (out.isEmpty()) throw new IOException(file + ": its state dict holds no tensors");
                return out;
            } catch (IOException | RuntimeException e) {
                out.values().forEach(tensors::close);
                throw e;
            }
        }
    }

    private static Map<?, ?> stateDict(Object root, Path file) throws IOException {
        if (!(root instanceof Map<?, ?> top))
            throw new IOException(file + ": holds a " + describe(root) + ", not a dict of tensors");
        for (String key : List.of("model", "state_dict", "module"))
            if (top.get(key) instanceof Map<?, ?> inner
                    && inner.values().stream().anyMatch(v -> v instanceof RestrictedUnpickler.TensorRef)) return inner;
        if (top.values().stream().anyMatch(v -> v instanceof RestrictedUnpickler.TensorRef)) return top;
        throw new IOException(
                file + ": no state dict found (looked at 'model', 'state_dict', 'module' and the top level; keys "
                        + top.keySet() + ")");
    }

    private static String describe(Object o) {
        return o == null ? "None" : o instanceof List<?> ? "list" : o.getClass().getSimpleName();
    }

    private static int elementSize(String type) {
        return switch (type) {
            case "DoubleStorage", "LongStorage" -> 8;
            case "FloatStorage", "IntStorage" -> 4;
            case "HalfStorage", "BFloat16Storage", "ShortStorage" -> 2;
            default -> 1; // Byte, Char, Bool
        };
    }

    private static MemorySegment readStorage(
            ZipFile zip, String prefix, RestrictedUnpickler.StorageRef s, Path file, Arena arena) throws IOException {
        ZipEntry e = zip.getEntry(prefix + "data/" + s.key());
        if (e == null) throw new IOException(file + ": storage data/" + s.key() + " is missing");
        long bytes = Math.multiplyExact(s.numel(), elementSize(s.type()));
        if (e.getSize() != bytes)
            throw new IOException(
                    file + ": storage data/" + s.key() + " holds " + e.getSize() + " bytes, its record says " + bytes);
        MemorySegment raw = arena.allocate(Math.max(bytes, 1));
        try (InputStream in = zip.getInputStream(e)) {
            byte[] buf = new byte[1 << 20];
            long at = 0;
            for (int n; (n = in.read(buf)) > 0; at += n) {
                if (at + n > bytes)
                    throw new IOException(file + ": storage data/" + s.key() + " is longer than recorded");
                MemorySegment.copy(buf, 0, raw, ValueLayout.JAVA_BYTE, at, n);
            }
            if (at != bytes) throw new IOException(file + ": storage data/" + s.key() + " ends early");
            return raw;
        }
    }

    private static final ValueLayout.OfShort SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    // Copies the view into a contiguous tensor, converting half precision to F32 and integers to I64.
    private static <T> T materialise(
            MemorySegment storage, RestrictedUnpickler.TensorRef t, String name, Path file, Tensors<T> tensors)
            throws IOException {
        long[] size = t.size(), stride = t.stride();
        if (size.length != stride.length)
            throw new IOException(file + ": tensor '" + name + "' has mismatched size and stride");
        long numel = 1, last = t.offset();
        for (int d = 0; d < size.length; d++) {
            numel = Math.multiplyExact(numel, size[d]);
            if (size[d] > 0) last = Math.addExact(last, Math.multiplyExact(size[d] - 1, stride[d]));
        }
        if (numel > 0 && last >= t.storage().numel())
            throw new IOException(file + ": tensor '" + name + "' reaches element " + last + " of a storage of "
                    + t.storage().numel());
        String type = t.storage().type();
        int es = elementSize(type);
        String outType = switch (type) {
            case "DoubleStorage" -> "F64";
            case "FloatStorage", "HalfStorage", "BFloat16Storage" -> "F32";
            default -> "I64";
        };
        long[] shape = size.length == 0 ? new long[] {1} : size.clone();
        T out = tensors.zeros(outType, shape);
        MemorySegment src = storage, dst = tensors.data(out);
        long[] index = new long[size.length];
        for (long i = 0; i < numel; i++) {
            long at = t.offset();
            for (int d = 0; d < size.length; d++) at += index[d] * stride[d];
            long byteAt = at * es;
            switch (type) {
                case "FloatStorage" ->
                    dst.setAtIndex(ValueLayout.JAVA_FLOAT, i, src.get(ValueLayout.JAVA_FLOAT_UNALIGNED, byteAt));
                case "DoubleStorage" ->
                    dst.setAtIndex(ValueLayout.JAVA_DOUBLE, i, src.get(ValueLayout.JAVA_DOUBLE_UNALIGNED, byteAt));
                case "HalfStorage" ->
                    dst.setAtIndex(ValueLayout.JAVA_FLOAT, i, Float.float16ToFloat(src.get(SHORT, byteAt)));
                case "BFloat16Storage" ->
                    dst.setAtIndex(
                            ValueLayout.JAVA_FLOAT, i, Float.intBitsToFloat((src.get(SHORT, byteAt) & 0xffff) << 16));
                case "LongStorage" ->
                    dst.setAtIndex(ValueLayout.JAVA_LONG, i, src.get(ValueLayout.JAVA_LONG_UNALIGNED, byteAt));
                case "IntStorage" ->
                    dst.setAtIndex(ValueLayout.JAVA_LONG, i, src.get(ValueLayout.JAVA_INT_UNALIGNED, byteAt));
                case "ShortStorage" -> dst.setAtIndex(ValueLayout.JAVA_LONG, i, src.get(SHORT, byteAt));
                case "ByteStorage", "BoolStorage" ->
                    dst.setAtIndex(ValueLayout.JAVA_LONG, i, src.get(ValueLayout.JAVA_BYTE, byteAt) & 0xff);
                default ->
                    dst.setAtIndex(
                            ValueLayout.JAVA_LONG, i, src.get(ValueLayout.JAVA_BYTE, byteAt)); // CharStorage: int8
            }
            for (int d = size.length - 1; d >= 0; d--) { // next index, row-major
                if (++index[d] < size[d]) break;
                index[d] = 0;
            }
        }
        return out;
    }
}
