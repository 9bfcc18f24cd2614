package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

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

    /** A call given a closed argument throws, and leaves neither its owner nor the JVM's exit waiting on it. */
    @Test
    void aClosedArgumentLeavesNoCallInFlight() {
        AtomicInteger ownerFrees = new AtomicInteger(), argFrees = new AtomicInteger();
        Probe owner = new Probe(ownerFrees), open = new Probe(new AtomicInteger()), closed = new Probe(argFrees);
        closed.close();
        long before = NativeCalls.inFlight();
        IllegalStateException e =
                assertThrows(IllegalStateException.class, () -> NativeResource.acquireAll(owner, open, closed));
        assertTrue(e.getMessage().contains("probe is closed"), e.getMessage());
        assertEquals(before, NativeCalls.inFlight(), "the calls acquired before the closed one are counted out");
        owner.close();
        assertEquals(1, ownerFrees.get(), "the owner is freed at once: no call of it is left in flight");
    }

    @Test
    void aTrainingStepOnAClosedTensorLeavesTheTrainerClosable() {
        try (Model model = Model.create(MaeConfig.tiny(), Device.cpu(), 1);
                Masker masker = Masker.random(0.75, 1)) {
            Trainer trainer = Trainer.builder(model).build();
            Tensor images = Tensor.zeros(DType.F32, 2, 2, 8, 8);
            images.close();
            long before = NativeCalls.inFlight();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> trainer.step(images, masker));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            assertEquals(before, NativeCalls.inFlight());
            trainer.close();
            assertTrue(trainer.isClosed());
        }
    }
}
