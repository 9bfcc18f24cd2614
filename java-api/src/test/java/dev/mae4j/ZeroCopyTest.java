package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** Images in Java-owned off-heap memory are read in place by the native side. */
class ZeroCopyTest {
    @Test
    void wrappedSegmentIsTheMemoryTheForwardPassReads() {
        MaeConfig c = MaeConfig.tiny();
        try (Arena arena = Arena.ofConfined();
                Model model = Model.create(c, Device.cpu(), 0);
                Masker masker = Masker.random(0.75, 0)) {
            MemorySegment seg = arena.allocate(ValueLayout.JAVA_FLOAT, 3 * 128);
            float[] values = TestData.toFloats(TestData.gaussian(3 * 128, 1));
            MemorySegment.copy(values, 0, seg, ValueLayout.JAVA_FLOAT, 0, values.length);
            try (Tensor images = Tensor.wrap(seg, 3, 2, 8, 8)) {
                model.forward(images, masker).close();
                assertEquals(seg.address(), model.lastInputAddress());
            }
        }
    }

    @Test
    void memoryFreedUnderAWrappedTensorIsRefusedNotRead() {
        try (Model model = Model.create(MaeConfig.tiny(), Device.cpu(), 0);
                Masker masker = Masker.random(0.75, 0)) {
            Arena arena = Arena.ofConfined();
            Tensor images = Tensor.wrap(arena.allocate(ValueLayout.JAVA_FLOAT, 128), 1, 2, 8, 8);
            arena.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> model.forward(images, masker));
            assertTrue(e.getMessage().contains("arena is closed"), e.getMessage());
        }
    }

    @Test
    void ownedTensorsAreReadInPlaceAndConversionsAreVisible() {
        MaeConfig c = MaeConfig.tiny();
        try (Model model = Model.create(c, Device.cpu(), 0);
                Masker masker = Masker.random(0.75, 0);
                Tensor f32 = Tensor.fromFloats(new float[2 * 128], 2, 2, 8, 8);
                Tensor f64 = Tensor.fromDoubles(new double[2 * 128], 2, 2, 8, 8)) {
            model.forward(f32, masker).close();
            assertEquals(f32.segment().address(), model.lastInputAddress());
            // float64 images for a float32 model must be converted: a copy, and the query shows it
            model.forward(f64, masker).close();
            assertNotEquals(f64.segment().address(), model.lastInputAddress());
        }
    }
}
