package dev.mae4j.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header naming each tensor's
 * dtype, shape and byte range, then the raw little-endian data. Reading memory-maps the file and checks
 * every field before anything is used; writing goes to a temporary file that is flushed and renamed.
 */
public final class SafeTensors implements AutoCloseable {
    public static final long MAX_HEADER_BYTES = 100_000_000; // the format's own limit
    private static final String METADATA_KEY = "__metadata__";
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();
    private static final Map<String, Integer> DTYPE_BYTES = Map.ofEntries(
            Map.entry("BOOL", 1),
            Map.entry("U8", 1),
            Map.entry("I8", 1),
            Map.entry("F8_E4M3", 1),
            Map.entry("F8_E5M2", 1),
            Map.entry("U16", 2),
            Map.entry("I16", 2),
            Map.entry("F16", 2),
            Map.entry("BF16", 2),
            Map.entry("U32", 4),
            Map.entry("I32", 4),
            Map.entry("F32", 4),
            Map.entry("U64", 8),
            Map.entry("I64", 8),
            Map.entry("F64", 8));

    /** One tensor of the file; {@code data} is a read-only slice of the mapping. */
    public record Entry(String name, String dtype, long[] shape, MemorySegment data) {}

    /** A tensor to write: its dtype by the format's name ("F32", "BF16", ...), its bytes little-endian. */
    public record Source(String name, String dtype, long[] shape, MemorySegment data) {
        public Source {
            if (!DTYPE_BYTES.containsKey(dtype)) throw new IllegalArgumentException("unknown dtype " + dtype);
        }
    }

    private final Arena arena;
    private final Map<String, String> metadata;
    private final Map<String, Entry> entries;

    private SafeTensors(Arena arena, Map<String, String> metadata, Map<String, Entry> entries) {
        this.arena = arena;
        this.metadata = metadata;
        this.entries = entries;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /** Entries in the header's order. */
    public Map<String, Entry> entries() {
        return entries;
    }

    @Override
    public void close() {
        arena.close();
    }

    /** Maps and validates {@code path}; throws FormatException naming what is wrong. */
    public static SafeTensors open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8)
                throw new FormatException(path, "file has " + size + " bytes, fewer than the 8-byte header length");
            MemorySegment file = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long headerLen = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || headerLen > size - 8)
                throw new FormatException(
                        path,
                        "header length " + Long.toUnsignedString(headerLen) + " is not in [1, min(" + MAX_HEADER_BYTES
                                + ", file size − 8 = " + (size - 8) + ")]");
            byte[] headerBytes = file.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
            MemorySegment data = file.asSlice(8 + headerLen).asReadOnly();
            return parse(path, headerBytes, data, arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static SafeTensors parse(Path path, byte[] headerBytes, MemorySegment data, Arena arena)
            throws FormatException {
        JsonNode root;
        try {
            root = JSON.readTree(headerBytes);
        } catch (JsonProcessingException e) {
            throw new FormatException(path, "header is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new FormatException(path, "header cannot be read: " + e.getMessage());
        }
        if (root == null || !root.isObject()) throw new FormatException(path, "header is not a JSON object");

        Map<String, String> metadata = new LinkedHashMap<>();
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String name = field.getKey();
            JsonNode node = field.getValue();
            if (name.equals(METADATA_KEY)) {
                if (!node.isObject()) throw new FormatException(path, METADATA_KEY + " is not an object");
                for (Map.Entry<String, JsonNode> kv : node.properties()) {
                    if (!kv.getValue().isTextual())
                        throw new FormatException(path, METADATA_KEY + "." + kv.getKey() + " is not a string");
                    metadata.put(kv.getKey(), kv.getValue().textValue());
                }
                continue;
            }
            entries.put(name, parseEntry(path, name, node, data));
        }
        checkNoOverlap(path, entries);
        return new SafeTensors(arena, metadata, entries);
    }

    private static Entry parseEntry(Path path, String name, JsonNode node, MemorySegment data) throws FormatException {
        if (!node.isObject()) throw new FormatException(path, "tensor '" + name + "' is not an object");
        JsonNode dtypeNode = node.get("dtype"), shapeNode = node.get("shape"), offsetsNode = node.get("data_offsets");
        if (dtypeNode == null || !dtypeNode.isTextual())
            throw new FormatException(path, "tensor '" + name + "' has no string dtype");
        String dtype = dtypeNode.textValue();
        Integer elemBytes = DTYPE_BYTES.get(dtype);
        if (elemBytes == null) throw new FormatException(path, "tensor '" + name + "' has unknown dtype " + dtype);
        if (shapeNode == null || !shapeNode.isArray())
            throw new FormatException(path, "tensor '" + name + "' has no shape array");
        long[] shape = new long[shapeNode.size()];
        long bytes = elemBytes;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToExactIntegral() || !d.canConvertToLong() || d.longValue() < 0)
                throw new FormatException(path, "tensor '" + name + "' has a bad shape entry " + d);
            shape[i] = d.longValue();
            try {
                bytes = Math.multiplyExact(bytes, shape[i]);
            } catch (ArithmeticException e) {
                throw new FormatException(path, "tensor '" + name + "' has a shape too large to address");
            }
        }
        if (offsetsNode == null
                || !offsetsNode.isArray()
                || offsetsNode.size() != 2
                || !offsetsNode.get(0).canConvertToExactIntegral()
                || !offsetsNode.get(1).canConvertToExactIntegral()
                || !offsetsNode.get(0).canConvertToLong()
                || !offsetsNode.get(1).canConvertToLong())
            throw new FormatException(path, "tensor '" + name + "' needs data_offsets [begin, end]");
        long begin = offsetsNode.get(0).longValue(), end = offsetsNode.get(1).longValue();
        if (begin < 0 || end < begin || end > data.byteSize())
            throw new FormatException(
                    path,
                    "tensor '" + name + "' has data_offsets [" + begin + ", " + end + "] outside the data section of "
                            + data.byteSize() + " bytes");
        if (end - begin != bytes)
            throw new FormatException(
                    path,
                    "tensor '" + name + "' spans " + (end - begin) + " bytes but " + dtype + " "
                            + java.util.Arrays.toString(shape) + " needs " + bytes);
        return new Entry(name, dtype, shape, data.asSlice(begin, end - begin));
    }

    private static void checkNoOverlap(Path path, Map<String, Entry> entries) throws FormatException {
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.sort(Comparator.comparingLong(e -> e.data().address()));
        for (int i = 1; i < sorted.size(); i++) {
            Entry prev = sorted.get(i - 1), cur = sorted.get(i);
            if (cur.data().address() < prev.data().address() + prev.data().byteSize())
                throw new FormatException(path, "tensors '" + prev.name() + "' and '" + cur.name() + "' overlap");
        }
    }

    /** Writes atomically: a temporary file beside {@code path}, flushed to disk, then renamed over it. */
    public static void write(Path path, Map<String, String> metadata, List<Source> tensors) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put(METADATA_KEY, metadata);
        // widest element first, as the reference writer orders them: every tensor then starts aligned to its type
        List<Source> ordered = new ArrayList<>(tensors);
        ordered.sort(Comparator.comparingLong((Source t) -> -DTYPE_BYTES.get(t.dtype())));
        long offset = 0;
        for (Source t : ordered) {
            long bytes = t.data().byteSize();
            Map<String, Object> entry = new LinkedHashMap<>(); // a fixed order: identical models, identical files
            entry.put("dtype", t.dtype());
            entry.put("shape", t.shape());
            entry.put("data_offsets", new long[] {offset, offset + bytes});
            header.put(t.name(), entry);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8; // keeps the data 8-byte aligned, as the format recommends
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();

        AtomicFile.write(path, ch -> {
            writeFully(ch, head);
            for (Source t : ordered) writeFully(ch, t.data().asByteBuffer());
        });
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }
}
