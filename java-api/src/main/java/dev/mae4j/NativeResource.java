package dev.mae4j;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;

/**
 * Base of every Java object that owns native state. Calls bracket their native work with
 * {@link #acquire()} and {@link #release()}; {@link #close()} frees the native state at once when idle,
 * or when the last call in flight releases it, so native memory is never used after it is freed.
 * A Cleaner frees what is never closed once it is unreachable: a safety net, not the contract.
 */
abstract class NativeResource implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(NativeResource.class, "state", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // Bit 0: closed. Bits 1..: calls in flight.
    @SuppressWarnings("unused")
    private volatile long state;

    private final Cleaner.Cleanable cleanable;

    /** {@code free} releases the native state; it must not refer to this object, or it is never collected. */
    NativeResource(Runnable free) {
        this.cleanable = CLEANER.register(this, free);
    }

    /** Marks a call in flight; throws IllegalStateException once closed, or once the JVM is shutting down. */
    final void acquire() {
        for (; ; ) {
            long s = state;
            if ((s & 1) != 0) throw new IllegalStateException(describe() + " is closed");
            if (STATE.compareAndSet(this, s, s + 2)) break;
        }
        try {
            NativeCalls.enter(); // the JVM's exit waits for this call (NativeCalls)
        } catch (IllegalStateException shuttingDown) {
            releaseThis();
            throw shuttingDown;
        }
    }

    /**
     * Acquires each non-null resource in order. When one is closed, those already acquired are released before the
     * exception propagates, so a failed call leaves no call counted in flight (which would keep a resource from
     * ever being freed and the JVM's exit waiting).
     */
    static void acquireAll(NativeResource... resources) {
        int i = 0;
        try {
            for (; i < resources.length; i++) if (resources[i] != null) resources[i].acquire();
        } catch (RuntimeException e) {
            while (--i >= 0) if (resources[i] != null) resources[i].release();
            throw e;
        }
    }

    /** Releases what {@link #acquireAll} acquired, in reverse order. */
    static void releaseAll(NativeResource... resources) {
        for (int i = resources.length - 1; i >= 0; i--) if (resources[i] != null) resources[i].release();
    }

    final void release() {
        NativeCalls.exit();
        releaseThis();
    }

    private void releaseThis() {
        long now = (long) STATE.getAndAdd(this, -2L) - 2;
        if (now == 1) cleanable.clean(); // closed while in use, and this was the last call
    }

    public final boolean isClosed() {
        return (state & 1) != 0;
    }

    /** Frees the native state; harmless when already closed. */
    @Override
    public final void close() {
        for (; ; ) {
            long s = state;
            if ((s & 1) != 0) return;
            if (STATE.compareAndSet(this, s, s | 1)) {
                if (s == 0) cleanable.clean();
                return;
            }
        }
    }

    /** A downcall that returns, through {@code out}, a view borrowed from {@code owner} (mae_model_params, ...). */
    interface BorrowCall {
        int call(MemorySegment owner, MemorySegment out);
    }

    /** The view {@code call} borrows from a live {@code owner}: valid while the owner is, never freed itself. */
    static MemorySegment borrow(MemorySegment owner, BorrowCall call) {
        try (Downcall d = Downcall.holding()) {
            MemorySegment out = d.pointer();
            d.check(call.call(owner, out));
            return out.get(ValueLayout.ADDRESS, 0);
        }
    }

    /** A downcall that returns the tensor named {@code cname} through {@code out}. */
    interface NamedGetter {
        int call(MemorySegment cname, MemorySegment out);
    }

    /** A downcall that overwrites the tensor named {@code cname} with {@code view}. */
    interface NamedSetter {
        int call(MemorySegment cname, MemorySegment view);
    }

    /** A copy of a named native tensor (a parameter, a gradient, an optimiser state entry). */
    final Tensor getNamed(String name, NamedGetter getter) {
        if (name == null) throw new IllegalArgumentException("name must not be null");
        try (Downcall d = Downcall.holding(this)) {
            MemorySegment out = d.pointer();
            d.check(getter.call(d.arena().allocateFrom(name), out));
            return d.adopt(out);
        }
    }

    /** Overwrites a named native tensor with {@code value}; the library checks the shape. */
    final void setNamed(String name, Tensor value, NamedSetter setter) {
        if (name == null) throw new IllegalArgumentException("name must not be null");
        if (value == null) throw new IllegalArgumentException("value must not be null");
        try (Downcall d = Downcall.holding(this, value)) {
            d.check(setter.call(d.arena().allocateFrom(name), d.view(value)));
        }
    }

    /** What this is, for messages: "model", "tensor", ... */
    abstract String describe();
}
