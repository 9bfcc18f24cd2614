package dev.mae4j;

import dev.mae4j.bindings.mae_tensor_view;
import dev.mae4j.io.SafeTensors;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Weights files shared by every network type: all parameters by name, in a safetensors file. */
final class NetworkWeights {
    private NetworkWeights() {}

    interface Getter {
        Tensor get(String name);
    }

    interface Setter {
        void set(String name, Tensor value);
    }

    /** Writes every parameter in {@code parameters}' order with {@code metadata}, atomically. */
    static void save(Path path, Map<String, String> metadata, List<ParameterInfo> parameters, Getter getter)
            throws IOException {
        if (path == null) throw new IllegalArgumentException("path must not be null");
        List<Tensor> values = new ArrayList<>();
        try {
            List<SafeTensors.Source> sources = new ArrayList<>();
            for (ParameterInfo p : parameters) {
                Tensor t = getter.get(p.name());
                values.add(t);
                sources.add(WeightsReader.source(p.name(), t));
            }
            SafeTensors.write(path, metadata, sources);
        } finally {
            values.forEach(Tensor::close);
        }
    }

    /**
     * Copies every tensor of {@code tensors} (reference names) into the parameter of that name. Every
     * parameter must be present unless {@code optional} accepts its name; unknown names are refused. A
     * position table of another grid is regenerated when fixed (the model keeps its own) and resized
     * bicubically when learned. Anything that does not fit is a CheckpointException naming it.
     */
    static void load(
            Path path,
            Map<String, Tensor> tensors,
            List<ParameterInfo> parameters,
            Setter setter,
            java.util.function.Predicate<String> optional)
            throws CheckpointException {
        Map<String, ParameterInfo> byName = new java.util.LinkedHashMap<>();
        for (ParameterInfo p : parameters) byName.put(p.name(), p);
        Set<String> missing = new TreeSet<>(byName.keySet());
        missing.removeAll(tensors.keySet());
        missing.removeIf(optional);
        Set<String> unexpected = new TreeSet<>(tensors.keySet());
        unexpected.removeAll(byName.keySet());
        if (!missing.isEmpty() || !unexpected.isEmpty())
            throw new CheckpointException(
                    path, "keys do not match the model: missing " + missing + ", unexpected " + unexpected);
        for (var e : tensors.entrySet()) {
            ParameterInfo p = byName.get(e.getKey());
            Tensor t = e.getValue();
            if (t.dtype() != DType.F32 && t.dtype() != DType.F64)
                throw new CheckpointException(
                        path, "tensor '" + e.getKey() + "' is " + t.dtype() + "; F32 or F64 is needed");
            long nonFinite = firstNonFinite(t);
            if (nonFinite >= 0)
                throw new CheckpointException(
                        path, "tensor '" + e.getKey() + "' holds a NaN or infinite value (element " + nonFinite + ")");
            boolean table = p.name().equals("pos_embed") || p.name().equals("decoder_pos_embed");
            if (table
                    && !java.util.Arrays.equals(t.shape(), p.shape())
                    && t.shape().length == 3
                    && t.shape()[2] == p.shape()[2]) {
                if (!p.trainable()) continue; // the fixed sine-cosine table: the model made its own for its grid
                int grid = (int) Math.round(Math.sqrt(p.shape()[1] - 1));
                try (Tensor resized = PositionTables.resize(t, grid)) {
                    setter.set(p.name(), resized);
                } catch (IllegalArgumentException bad) {
                    throw new CheckpointException(path, bad.getMessage());
                }
                continue;
            }
            try {
                setter.set(e.getKey(), t);
            } catch (IllegalArgumentException bad) {
                throw new CheckpointException(path, bad.getMessage());
            }
        }
    }

    /** The index of the first NaN or infinite element of an F32 or F64 tensor, or −1. */
    static long firstNonFinite(Tensor t) {
        java.lang.foreign.MemorySegment s = t.segment();
        long n = t.elementCount();
        if (t.dtype() == DType.F64) {
            for (long i = 0; i < n; i++)
                if (!Double.isFinite(s.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i))) return i;
        } else {
            for (long i = 0; i < n; i++)
                if (!Float.isFinite(s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i))) return i;
        }
        return -1;
    }

    interface CountCall {
        int call(MemorySegment out);
    }

    interface InfoCall {
        int call(long index, MemorySegment nameOut, MemorySegment viewOut, MemorySegment trainableOut);
    }

    interface NameCall {
        int call(long index, MemorySegment nameOut);
    }

    /** The names a library object lists by count and index (e.g. optimiser state entries). */
    static List<String> names(CountCall count, NameCall name) {
        try (Downcall d = Downcall.holding()) {
            MemorySegment n = d.arena().allocate(ValueLayout.JAVA_LONG);
            d.check(count.call(n));
            MemorySegment out = d.pointer();
            List<String> names = new ArrayList<>();
            for (long i = 0; i < n.get(ValueLayout.JAVA_LONG, 0); i++) {
                d.check(name.call(i, out));
                names.add(NativeLibrary.string(out.get(ValueLayout.ADDRESS, 0)));
            }
            return List.copyOf(names);
        }
    }

    /** Every parameter's name, dtype, shape and trainability, in the library's order. */
    static List<ParameterInfo> describe(CountCall count, InfoCall info) {
        try (Downcall d = Downcall.holding()) {
            MemorySegment n = d.arena().allocate(ValueLayout.JAVA_LONG);
            d.check(count.call(n));
            MemorySegment name = d.pointer();
            MemorySegment view = mae_tensor_view.allocate(d.arena());
            MemorySegment trainable = d.arena().allocate(ValueLayout.JAVA_INT);
            List<ParameterInfo> infos = new ArrayList<>();
            for (long i = 0; i < n.get(ValueLayout.JAVA_LONG, 0); i++) {
                d.check(info.call(i, name, view, trainable));
                infos.add(new ParameterInfo(
                        NativeLibrary.string(name.get(ValueLayout.ADDRESS, 0)),
                        DType.ofCode(mae_tensor_view.dtype(view)),
                        Tensor.shapeOf(view),
                        trainable.get(ValueLayout.JAVA_INT, 0) != 0));
            }
            return List.copyOf(infos);
        }
    }
}
