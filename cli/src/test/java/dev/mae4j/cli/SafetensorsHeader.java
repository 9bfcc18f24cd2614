package dev.mae4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads and edits a safetensors file's metadata (8-byte little-endian header length, JSON header, data), for tests. */
final class SafetensorsHeader {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsHeader() {}

    static String metadata(Path file, String key) throws IOException {
        return header(Files.readAllBytes(file)).path("__metadata__").path(key).asText(null);
    }

    /** Rewrites {@code file} with metadata {@code key} set to {@code value}; the tensors' bytes stay as they are. */
    static void setMetadata(Path file, String key, String value) throws IOException {
        editMetadata(file, m -> m.put(key, value));
    }

    /** Rewrites {@code file} without metadata {@code keys}, as files written before they existed. */
    static void removeMetadata(Path file, String... keys) throws IOException {
        editMetadata(file, m -> m.remove(java.util.List.of(keys)));
    }

    private static void editMetadata(Path file, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        ObjectNode header = header(bytes);
        edit.accept((ObjectNode) header.get("__metadata__"));
        byte[] compact = JSON.writeValueAsBytes(header);
        byte[] json = java.util.Arrays.copyOf(compact, (compact.length + 7) / 8 * 8); // the data stays 8-byte aligned
        java.util.Arrays.fill(json, compact.length, json.length, (byte) ' ');
        int data = 8 + (int) length(bytes);
        ByteBuffer out =
                ByteBuffer.allocate(8 + json.length + bytes.length - data).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(json.length).put(json).put(bytes, data, bytes.length - data);
        Files.write(file, out.array());
    }

    private static ObjectNode header(byte[] bytes) throws IOException {
        return (ObjectNode) JSON.readTree(new String(bytes, 8, (int) length(bytes), StandardCharsets.UTF_8));
    }

    private static long length(byte[] bytes) {
        return ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }
}
