package dev.mae4j;

import dev.mae4j.bindings.mae_tensor_view;
import java.lang.foreign.Arena;
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
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Status.check(getter.get(out));
            try (Tensor t = Tensor.adopt(out.get(ValueLayout.ADDRESS, 0))) {
                return t.segment().toArray(ValueLayout.JAVA_BYTE);
            }
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
        try (Arena arena = Arena.ofConfined();
                Tensor t = tensorOf(state)) {
            MemorySegment view = mae_tensor_view.allocate(arena);
            t.writeView(view); // t is ours alone: no other thread can close it meanwhile
            Status.check(setter.set(view));
        }
    }
}
