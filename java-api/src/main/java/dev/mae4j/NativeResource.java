package dev.mae4j;

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

    /** Marks a call in flight; throws IllegalStateException once closed. */
    final void acquire() {
        for (;;) {
            long s = state;
            if ((s & 1) != 0) throw new IllegalStateException(describe() + " is closed");
            if (STATE.compareAndSet(this, s, s + 2)) return;
        }
    }

    final void release() {
        long now = (long) STATE.getAndAdd(this, -2L) - 2;
        if (now == 1) cleanable.clean();  // closed while in use, and this was the last call
    }

    public final boolean isClosed() {
        return (state & 1) != 0;
    }

    /** Frees the native state; harmless when already closed. */
    @Override
    public final void close() {
        for (;;) {
            long s = state;
            if ((s & 1) != 0) return;
            if (STATE.compareAndSet(this, s, s | 1)) {
                if (s == 0) cleanable.clean();
                return;
            }
        }
    }

    /** What this is, for messages: "model", "tensor", ... */
    abstract String describe();
}
