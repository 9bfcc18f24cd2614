package dev.mae4j;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Native state is freed exactly once, never while a call is using it. */
class NativeResourceTest {
    private static final class Probe extends NativeResource {
        Probe(AtomicInteger frees) {
            super(frees::incrementAndGet);
        }

        @Override
        String describe() {
            return "probe";
        }
    }

    @Test
    void closingDuringACallDefersTheFreeToTheCallsEnd() {
        AtomicInteger frees = new AtomicInteger();
        Probe p = new Probe(frees);
        p.acquire();
        p.acquire();
        p.close();
        assertTrue(p.isClosed());
        assertEquals(0, frees.get(), "freed while two calls are in flight");
        assertThrows(IllegalStateException.class, p::acquire, "new calls are refused once closed");
        p.release();
        assertEquals(0, frees.get());
        p.release();
        assertEquals(1, frees.get());
        p.close();
        assertEquals(1, frees.get(), "closing again frees nothing");
    }

    @Test
    void closingAnIdleResourceFreesAtOnce() {
        AtomicInteger frees = new AtomicInteger();
        Probe p = new Probe(frees);
        p.acquire();
        p.release();
        assertEquals(0, frees.get());
        p.close();
        assertEquals(1, frees.get());
    }
}
