package dev.mae4j;

import dev.mae4j.bindings.mae_tensor_view;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Weights files shared by every network type: all parameters by name, in a safetensors file. */
final class ParameterFiles {
    private ParameterFiles() {}

    interface Getter {
        Tensor get(String name);
    }

    interface Setter {
        void set(String name, Tensor value);
    }

    /** Writes every parameter in {@code parameters}' order with {@code metadata}, atomically. */
    static void save(Path path, Map<String, String> metadata, List<ParameterInfo> parameters, Getter getter) throws IOException {
        if (path == null) throw new IllegalArgumentException("path must not be null");
        List<Tensor> values = new ArrayList<>();
        try {
            List<SafeTensors.Source> sources = new ArrayList<>();
            for (ParameterInfo p : parameters) {
                Tensor t = getter.get(p.name());
                values.add(t);
                sources.add(new SafeTensors.Source(p.name(), t.dtype(), t.shape(), t.segment()));
            }
            SafeTensors.write(path, metadata, sources);
        } finally {
            values.forEach(Tensor::close);
        }
    }

    /**
     * Copies every tensor of {@code file} into the parameter of that name. The file must hold exactly the
     * parameters, as F32 or F64 tensors of their shapes; anything else is a CheckpointException.
     */
    static void load(Path path, SafeTensors file, List<ParameterInfo> parameters, Setter setter) throws CheckpointException {
        Set<String> expected = new TreeSet<>();
        for (ParameterInfo p : parameters) expected.add(p.name());
        Set<String> missing = new TreeSet<>(expected);
        missing.removeAll(file.entries().keySet());
        Set<String> unexpected = new TreeSet<>(file.entries().keySet());
        unexpected.removeAll(expected);
        if (!missing.isEmpty() || !unexpected.isEmpty())
            throw new CheckpointException(path, "keys do not match the model: missing " + missing + ", unexpected " + unexpected);
        for (SafeTensors.Entry e : file.entries().values()) {
            DType dtype = DType.ofSafetensorsName(e.dtype());
            if (dtype != DType.F32 && dtype != DType.F64)
                throw new CheckpointException(path, "tensor '" + e.name() + "' is " + e.dtype() + "; F32 or F64 is needed");
            if (e.shape().length == 0)
                throw new CheckpointException(path, "tensor '" + e.name() + "' is a scalar");
            try (Tensor t = Tensor.wrap(e.data(), dtype, e.shape())) {
                setter.set(e.name(), t);
            } catch (IllegalArgumentException bad) {
                throw new CheckpointException(path, bad.getMessage());
            }
        }
    }

    interface CountCall {
        int call(MemorySegment out);
    }

    interface InfoCall {
        int call(long index, MemorySegment nameOut, MemorySegment viewOut, MemorySegment trainableOut);
    }

    /** Every parameter's name, dtype, shape and trainability, in the library's order. */
    static List<ParameterInfo> describe(CountCall count, InfoCall info) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocate(ValueLayout.JAVA_LONG);
            Status.check(count.call(n));
            MemorySegment name = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment view = mae_tensor_view.allocate(arena);
            MemorySegment trainable = arena.allocate(ValueLayout.JAVA_INT);
            List<ParameterInfo> infos = new ArrayList<>();
            for (long i = 0; i < n.get(ValueLayout.JAVA_LONG, 0); i++) {
                Status.check(info.call(i, name, view, trainable));
                infos.add(new ParameterInfo(NativeLibrary.string(name.get(ValueLayout.ADDRESS, 0)),
                        DType.ofCode(mae_tensor_view.dtype(view)), Tensor.shapeOf(view), trainable.get(ValueLayout.JAVA_INT, 0) != 0));
            }
            return List.copyOf(infos);
        }
    }

    /** F64 when any tensor of the file is, else F32. */
    static DType precisionOf(SafeTensors file) {
        return file.entries().values().stream().anyMatch(e -> e.dtype().equals("F64")) ? DType.F64 : DType.F32;
    }
}
