package dev.mae4j;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Copies native random-generator states (U8 tensors) to and from Java byte arrays; callers hold their object. */
final class GeneratorStates {
    private GeneratorStates() {}

    interface Getter {
        int get(MemorySegment out);
    }

    interface Setter {
        int set(MemorySegment view);
    }

    static byte[] get(Getter getter) {
        try (Tensor t = Downcall.readTensor(getter::get)) {
            return t.segment().toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** A U8 tensor holding a copy of {@code state}. */
    static Tensor tensorOf(byte[] state) {
        Tensor t = Tensor.zeros(DType.U8, state.length);
        MemorySegment.copy(state, 0, t.segment(), ValueLayout.JAVA_BYTE, 0, state.length);
        return t;
    }

    static void set(byte[] state, Setter setter) {
        if (state == null || state.length == 0) throw new IllegalArgumentException("state must not be empty");
        try (Tensor t = tensorOf(state);
                Downcall d = Downcall.holding(t)) {
            d.check(setter.set(d.view(t)));
        }
    }
}
