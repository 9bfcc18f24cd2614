package dev.mae4j;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How pixels on [0, 1] are normalised before they reach a model: {@code (x - mean[c]) / std[c]} per channel,
 * as Hugging Face's image processors' {@code image_mean} and {@code image_std}. It belongs to the weights:
 * {@link Model#save}, {@link Classifier#save} and training checkpoints record it in the safetensors metadata,
 * {@link Model#saveHuggingFace} writes preprocessor_config.json, and every load reads it back. Files that do
 * not record it (official .pth files, older checkpoints) get {@link #defaultFor} their channel count, marked
 * {@link #recorded()} false so that callers can say so. Immutable.
 */
public final class Preprocessing {
    static final String MEAN_KEY = "image_mean", STD_KEY = "image_std";
    static final String HF_FILE = "preprocessor_config.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final float[] mean, std;
    private final boolean recorded;

    private Preprocessing(float[] mean, float[] std, boolean recorded) {
        this.mean = mean;
        this.std = std;
        this.recorded = recorded;
    }

    /** Per-channel statistics; throws IllegalArgumentException unless both have the same length ≥ 1, finite, std > 0. */
    public static Preprocessing of(float[] mean, float[] std) {
        if (mean == null || std == null) throw new IllegalArgumentException("mean and std must not be null");
        if (mean.length == 0 || mean.length != std.length)
            throw new IllegalArgumentException(
                    "mean and std need one value per channel, got " + mean.length + " and " + std.length);
        for (int c = 0; c < mean.length; c++) {
            if (!Float.isFinite(mean[c]))
                throw new IllegalArgumentException("mean[" + c + "] is not finite: " + mean[c]);
            if (!(std[c] > 0) || !Float.isFinite(std[c]))
                throw new IllegalArgumentException("std[" + c + "] must be finite and > 0, got " + std[c]);
        }
        return new Preprocessing(mean.clone(), std.clone(), true);
    }

    /**
     * The documented default for weights that record nothing: ImageNet's statistics for RGB (mean 0.485,
     * 0.456, 0.406; std 0.229, 0.224, 0.225, as the reference), 0.5 and 0.5 for every other channel count.
     */
    public static Preprocessing defaultFor(int channels) {
        if (channels < 1) throw new IllegalArgumentException("channels must be >= 1, got " + channels);
        if (channels == 3)
            return new Preprocessing(new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f}, false);
        float[] half = new float[channels];
        Arrays.fill(half, 0.5f);
        return new Preprocessing(half, half.clone(), false);
    }

    /** Fashion-MNIST's training-set statistics (mean 0.2860, std 0.3530): what mae pretrain uses on its default data. */
    public static Preprocessing fashionMnist() {
        return of(new float[] {0.2860f}, new float[] {0.3530f});
    }

    public float[] mean() {
        return mean.clone();
    }

    public float[] std() {
        return std.clone();
    }

    public int channels() {
        return mean.length;
    }

    /** False when these are {@link #defaultFor} a file (or new model) that recorded none; true when given or read. */
    public boolean recorded() {
        return recorded;
    }

    /** The one-line notice for weights that record no preprocessing, naming the default used. */
    public String notice(Object source) {
        return source + " records no preprocessing: using the default for " + channels() + " channel"
                + (channels() == 1 ? "" : "s") + " (" + this + ")";
    }

    @Override
    public String toString() {
        return "mean " + Arrays.toString(mean) + ", std " + Arrays.toString(std);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Preprocessing p && Arrays.equals(mean, p.mean) && Arrays.equals(std, p.std);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(mean) + Arrays.hashCode(std);
    }

    /** As safetensors metadata: JSON arrays under Hugging Face's names. */
    Map<String, String> toMetadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(MEAN_KEY, array(mean).toString());
        m.put(STD_KEY, array(std).toString());
        return m;
    }

    /**
     * What {@code weights} records for a model of {@code channels}: its metadata, else a preprocessor_config.json
     * beside it, else {@link #defaultFor}. Throws CheckpointException when what it records is malformed or
     * has another channel count.
     */
    static Preprocessing of(Path path, Map<String, String> metadata, int channels) throws IOException {
        Preprocessing p;
        if (metadata.containsKey(MEAN_KEY) || metadata.containsKey(STD_KEY)) {
            p = recordedIn(path, metadata);
        } else {
            Path hf = HuggingFaceConfig.beside(path, HF_FILE);
            if (hf == null) return defaultFor(channels);
            JsonNode c;
            try {
                c = JSON.readTree(hf.toFile());
            } catch (IOException e) {
                throw new CheckpointException(hf, "is not JSON: " + e.getMessage());
            }
            if (!c.has(MEAN_KEY) && !c.has(STD_KEY)) return defaultFor(channels);
            p = parse(
                    hf,
                    c.has(MEAN_KEY) ? c.get(MEAN_KEY).toString() : null,
                    c.has(STD_KEY) ? c.get(STD_KEY).toString() : null);
        }
        if (p.channels() != channels)
            throw new CheckpointException(
                    path, "records preprocessing for " + p.channels() + " channels, the model has " + channels);
        return p;
    }

    /** What {@code metadata} records, or null when it records none. */
    static Preprocessing recordedIn(Path file, Map<String, String> metadata) throws CheckpointException {
        if (!metadata.containsKey(MEAN_KEY) && !metadata.containsKey(STD_KEY)) return null;
        return parse(file, metadata.get(MEAN_KEY), metadata.get(STD_KEY));
    }

    /** Writes Hugging Face's preprocessor_config.json (a ViTImageProcessor: rescale 1/255, resize, normalise), atomically. */
    void writeHuggingFace(Path file, int size) throws IOException {
        ObjectNode c = JSON.createObjectNode();
        c.put("image_processor_type", "ViTImageProcessor");
        c.put("do_resize", true);
        c.putObject("size").put("height", size).put("width", size);
        c.put("resample", 2); // PIL bilinear, as ViTImageProcessor's default
        c.put("do_rescale", true);
        c.put("rescale_factor", 1.0 / 255);
        c.put("do_normalize", true);
        c.set(MEAN_KEY, array(mean));
        c.set(STD_KEY, array(std));
        byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(c);
        dev.mae4j.io.AtomicFile.write(file, out -> out.write(java.nio.ByteBuffer.wrap(bytes)));
    }

    private static ArrayNode array(float[] v) {
        ArrayNode a = JSON.createArrayNode();
        for (float x : v) a.add(x);
        return a;
    }

    private static Preprocessing parse(Path file, String mean, String std) throws CheckpointException {
        if (mean == null || std == null)
            throw new CheckpointException(file, "records only one of " + MEAN_KEY + " and " + STD_KEY);
        try {
            return of(floats(file, MEAN_KEY, mean), floats(file, STD_KEY, std));
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file, "records unusable preprocessing: " + e.getMessage());
        }
    }

    private static float[] floats(Path file, String key, String json) throws CheckpointException {
        JsonNode a;
        try {
            a = JSON.readTree(json);
        } catch (IOException e) {
            a = null;
        }
        if (a == null || !a.isArray() || a.size() == 0 || a.size() > 4096)
            throw new CheckpointException(file, key + " is not a list of numbers: " + abbreviate(json));
        float[] v = new float[a.size()];
        for (int i = 0; i < v.length; i++) {
            if (!a.get(i).isNumber())
                throw new CheckpointException(file, key + " is not a list of numbers: " + abbreviate(json));
            v[i] = a.get(i).floatValue();
        }
        return v;
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
