package dev.mae4j;

import dev.mae4j.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Weight files as files: conversion between the formats and namings {@link Model#load} reads. */
public final class Weights {
    private Weights() {}

    /** Writes named tensors (any dtype this library has) to a safetensors file with {@code metadata}, atomically. */
    public static void write(Path out, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        if (out == null || tensors == null || metadata == null)
            throw new IllegalArgumentException("out, tensors and metadata must not be null");
        List<SafeTensors.Source> sources = new ArrayList<>();
        for (var e : tensors.entrySet()) {
            Tensor t = e.getValue();
            sources.add(WeightsReader.source(e.getKey(), t));
        }
        SafeTensors.write(out, metadata, sources);
    }

    /**
     * Rewrites {@code in} (safetensors or torch.save, reference or Hugging Face names, or a Hugging Face
     * model folder) as a safetensors file with the reference's names, which the official code's
     * load_state_dict takes as it is. The architecture goes into the metadata when the input records it
     * (our metadata or config.json), so {@link Model#load(Path, Device)} needs no MaeConfig. Atomic.
     * Returns the number of tensors written.
     */
    public static int convert(Path in, Path out) throws IOException {
        if (in == null || out == null) throw new IllegalArgumentException("in and out must not be null");
        try (WeightsReader.Loaded w = WeightsReader.read(in)) {
            Map<String, String> metadata = new LinkedHashMap<>();
            metadata.put("format", "pt");
            Path hf = HuggingFaceConfig.beside(in);
            if (w.metadata.containsKey("embed_dim")) metadata.putAll(w.metadata);
            else if (hf != null)
                metadata.putAll(HuggingFaceConfig.read(hf, w.precision()).toMetadata());
            metadata.put("format", "pt");
            if (!metadata.containsKey(Preprocessing.MEAN_KEY) && metadata.containsKey("in_chans")) {
                // a Hugging Face folder keeps it in preprocessor_config.json: carry it into the one file
                Preprocessing p = Preprocessing.of(in, w.metadata, Integer.parseInt(metadata.get("in_chans")));
                if (p.recorded()) metadata.putAll(p.toMetadata());
            }
            List<SafeTensors.Source> sources = new ArrayList<>();
            for (var e : w.tensors.entrySet()) {
                Tensor t = e.getValue();
                sources.add(WeightsReader.source(e.getKey(), t));
            }
            SafeTensors.write(out, metadata, sources);
            return sources.size();
        }
    }
}
