package dev.mae4j;

import dev.mae4j.bindings.mae_tensor_view;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One native call's frame: the resources it reads held against {@code close()} ({@link NativeResource#acquire}), a
 * confined arena for its tensor views and outputs, and its status checked. It replaces, at every call, the
 * acquire / arena / try / Status.check / finally-release block; with no resources it frames a static call:
 *
 * <pre>{@code
 * try (Downcall d = Downcall.holding(this, images)) {
 *     MemorySegment out = d.pointer();
 *     d.check(Mae.mae_model_encode(handle, d.view(images), out));
 *     return d.adopt(out);
 * }
 * }</pre>
 */
final class Downcall implements AutoCloseable {
    /** A downcall that returns its result through {@code out}. */
    @FunctionalInterface
    interface Out {
        int call(MemorySegment out);
    }

    private final NativeResource[] held;
    private final Arena arena;

    private Downcall(NativeResource[] held) {
        NativeResource.acquireAll(held);
        this.held = held;
        this.arena = Arena.ofConfined();
    }

    /** Holds each non-null resource (in order; none held when one is closed) for the call. */
    static Downcall holding(NativeResource... resources) {
        return new Downcall(resources);
    }

    /** A call's long result, e.g. a count, with {@code resources} held. */
    static long readLong(Out call, NativeResource... resources) {
        try (Downcall d = holding(resources)) {
            MemorySegment out = d.arena.allocate(ValueLayout.JAVA_LONG);
            d.check(call.call(out));
            return out.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /** A call's int result, e.g. a count or a flag, with {@code resources} held (none: a static call). */
    static int readInt(Out call, NativeResource... resources) {
        try (Downcall d = holding(resources)) {
            MemorySegment out = d.arena.allocate(ValueLayout.JAVA_INT);
            d.check(call.call(out));
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** A call's string result, which the library keeps (e.g. a version), with {@code resources} held. */
    static String readString(Out call, NativeResource... resources) {
        try (Downcall d = holding(resources)) {
            MemorySegment out = d.pointer();
            d.check(call.call(out));
            return NativeLibrary.string(out.get(ValueLayout.ADDRESS, 0));
        }
    }

    /** A call's new handle (e.g. a masker), which the caller owns, with {@code resources} held. */
    static MemorySegment readHandle(Out call, NativeResource... resources) {
        try (Downcall d = holding(resources)) {
            MemorySegment out = d.pointer();
            d.check(call.call(out));
            return out.get(ValueLayout.ADDRESS, 0);
        }
    }

    /** A call's new tensor, which the caller owns, with {@code resources} held. */
    static Tensor readTensor(Out call, NativeResource... resources) {
        try (Downcall d = holding(resources)) {
            MemorySegment out = d.pointer();
            d.check(call.call(out));
            return d.adopt(out);
        }
    }

    /** A call that returns nothing but its status, with {@code resources} held. */
    static void run(java.util.function.IntSupplier call, NativeResource... resources) {
        try (Downcall d = holding(resources)) {
            d.check(call.getAsInt());
        }
    }

    Arena arena() {
        return arena;
    }

    /** The tensor's mae_tensor_view (pointer, dtype, shape: no copy); hold the tensor. */
    MemorySegment view(Tensor t) {
        MemorySegment v = mae_tensor_view.allocate(arena);
        t.writeView(v);
        return v;
    }

    /** Room for a pointer the call returns. */
    MemorySegment pointer() {
        return arena.allocate(ValueLayout.ADDRESS);
    }

    /** Throws the exception the status names, with libmae's message. */
    void check(int status) {
        Status.check(status);
    }

    /** The tensor whose pointer the call wrote into {@code pointer}: the caller owns it. */
    Tensor adopt(MemorySegment pointer) {
        return Tensor.adopt(pointer.get(ValueLayout.ADDRESS, 0));
    }

    @Override
    public void close() {
        arena.close();
        NativeResource.releaseAll(held);
    }
}
