package dev.mae4j;

import dev.mae4j.bindings.Mae;
import java.lang.foreign.MemorySegment;

/** Where a model's parameters and computation live. */
public record Device(Type type, int index) {
    public enum Type {
        CPU,
        CUDA
    }

    public Device {
        if (type == null) throw new IllegalArgumentException("device type must not be null");
        if (index < 0) throw new IllegalArgumentException("device index must be >= 0, got " + index);
        if (type == Type.CPU && index != 0)
            throw new IllegalArgumentException("the CPU device has index 0, got " + index);
    }

    public static Device cpu() {
        return new Device(Type.CPU, 0);
    }

    public static Device cuda(int index) {
        return new Device(Type.CUDA, index);
    }

    /** Parses "cpu", "cuda" or "cuda:N". */
    public static Device parse(String spec) {
        String s = spec.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.equals("cpu")) return cpu();
        if (s.equals("cuda")) return cuda(0);
        if (s.startsWith("cuda:")) {
            try {
                return cuda(Integer.parseInt(s.substring(5)));
            } catch (NumberFormatException e) {
                // fall through to the error below
            }
        }
        throw new IllegalArgumentException("device must be cpu, cuda or cuda:N, got '" + spec + "'");
    }

    /** How many CUDA devices the loaded libtorch sees (0 on a CPU build). */
    public static int cudaDeviceCount() {
        NativeLibrary.ensureLoaded();
        return Downcall.readInt(Mae::mae_cuda_device_count);
    }

    void writeTo(MemorySegment struct) {
        dev.mae4j.bindings.mae_device.type(struct, type == Type.CPU ? Mae.MAE_DEVICE_CPU() : Mae.MAE_DEVICE_CUDA());
        dev.mae4j.bindings.mae_device.index(struct, index);
    }

    @Override
    public String toString() {
        return type == Type.CPU ? "cpu" : "cuda:" + index;
    }
}
