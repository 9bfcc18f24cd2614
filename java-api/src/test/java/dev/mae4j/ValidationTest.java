package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mae4j.bindings.Mae;
import dev.mae4j.bindings.mae_config;
import dev.mae4j.bindings.mae_device;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Bad input of every kind ends in an exception whose message names the problem, never in a crash. */
class ValidationTest {
    private static <T extends Throwable> void assertFails(Class<T> type, String messagePart, Executable call) {
        T e = assertThrows(type, call);
        assertTrue(
                e.getMessage() != null && e.getMessage().contains(messagePart),
                "message '" + e.getMessage() + "' lacks '" + messagePart + "'");
    }

    @Test
    void inconsistentConfigsNameTheField() {
        assertFails(
                IllegalArgumentException.class,
                "imgSize (30) must be divisible by patchSize (4)",
                () -> MaeConfig.tiny().toBuilder().imgSize(30).patchSize(4).build());
        assertFails(
                IllegalArgumentException.class,
                "embedDim (8) must be divisible by numHeads (3)",
                () -> MaeConfig.tiny().toBuilder().numHeads(3).build());
        assertFails(
                IllegalArgumentException.class,
                "decoderEmbedDim must be a multiple of 4",
                () -> MaeConfig.tiny().toBuilder()
                        .decoderEmbedDim(6)
                        .decoderNumHeads(3)
                        .build());
        assertFails(
                IllegalArgumentException.class,
                "depth must be positive",
                () -> MaeConfig.tiny().toBuilder().depth(0).build());
        assertFails(
                IllegalArgumentException.class,
                "mlpRatio",
                () -> MaeConfig.tiny().toBuilder().mlpRatio(Double.NaN).build());
        assertFails(
                IllegalArgumentException.class,
                "precision must be F32, F64 or BF16, got I64",
                () -> MaeConfig.tiny().toBuilder().precision(DType.I64).build());
    }

    @Test
    void theNativeSideValidatesToo() {
        // Straight through the bindings, past the Java checks: the C ABI still refuses with a message.
        NativeLibrary.ensureLoaded();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment dev = mae_device.allocate(arena);
            assertEquals(Mae.MAE_ERR_INVALID_ARGUMENT(), Mae.mae_model_create(MemorySegment.NULL, dev, 0, out));
            assertEquals("config must not be null", NativeLibrary.string(Mae.mae_last_error()));
            MemorySegment cfg = mae_config.allocate(arena);
            MaeConfig.tiny().writeTo(cfg);
            mae_config.patch_size(cfg, 3);
            assertEquals(Mae.MAE_ERR_INVALID_ARGUMENT(), Mae.mae_model_create(cfg, dev, 0, out));
            assertEquals(
                    "img_size (8) must be divisible by patch_size (3)", NativeLibrary.string(Mae.mae_last_error()));
            MaeConfig.tiny().writeTo(cfg);
            mae_device.type(dev, 7);
            assertEquals(Mae.MAE_ERR_INVALID_ARGUMENT(), Mae.mae_model_create(cfg, dev, 0, out));
            assertTrue(NativeLibrary.string(Mae.mae_last_error()).startsWith("device.type must be"));
            assertEquals(
                    Mae.MAE_ERR_INVALID_ARGUMENT(),
                    Mae.mae_model_forward(
                            MemorySegment.NULL, MemorySegment.NULL, MemorySegment.NULL, 0, MemorySegment.NULL));
            assertEquals(Mae.MAE_OK(), Mae.mae_model_free(MemorySegment.NULL));
        }
    }

    @Test
    void badImagesMasksAndArgumentsAreRefused() {
        MaeConfig c = MaeConfig.tiny();
        try (Model model = Model.create(c, Device.cpu(), 0);
                Masker masker = Masker.random(0.75, 0);
                Tensor rgb = Tensor.fromFloats(new float[3 * 64], 1, 3, 8, 8);
                Tensor small = Tensor.fromFloats(new float[2 * 16], 1, 2, 4, 4);
                Tensor flat = Tensor.fromFloats(new float[128], 128);
                Tensor ids = Tensor.zeros(DType.I64, 1, 2, 8, 8);
                Tensor images = Tensor.fromFloats(new float[2 * 128], 2, 2, 8, 8);
                Tensor noise3 = Tensor.fromDoubles(new double[3 * 16], 3, 16);
                Masker threeImages = Masker.fromNoise(noise3, 0.75)) {
            assertFails(
                    IllegalArgumentException.class,
                    "images must be [N, 2, 8, 8], got [1, 3, 8, 8]",
                    () -> model.forward(rgb, masker));
            assertFails(IllegalArgumentException.class, "got [1, 2, 4, 4]", () -> model.forward(small, masker));
            assertFails(IllegalArgumentException.class, "got [128]", () -> model.forward(flat, masker));
            assertFails(IllegalArgumentException.class, "images must be F32 or F64", () -> model.forward(ids, masker));
            assertFails(
                    IllegalArgumentException.class,
                    "noise must be [N, L] = [2, 16]",
                    () -> model.forward(images, threeImages));
            assertFails(IllegalArgumentException.class, "images must not be null", () -> model.forward(null, masker));
            assertFails(IllegalArgumentException.class, "masker must not be null", () -> model.forward(images, null));
            assertFails(
                    IllegalArgumentException.class,
                    "no parameter named 'blocks.9.norm1.weight'",
                    () -> model.parameter("blocks.9.norm1.weight"));
            try (Tensor wrong = Tensor.zeros(DType.F32, 3, 3)) {
                assertFails(
                        IllegalArgumentException.class,
                        "parameter 'norm.weight' has shape [8], got [3, 3]",
                        () -> model.setParameter("norm.weight", wrong));
            }
        }
        for (double ratio : new double[] {1.0, -0.1, Double.NaN}) {
            assertFails(IllegalArgumentException.class, "maskRatio must be in [0, 1)", () -> Masker.random(ratio, 0));
        }
        try (Tensor oneD = Tensor.fromDoubles(new double[4], 4)) {
            assertFails(IllegalArgumentException.class, "noise must be [N, L]", () -> Masker.fromNoise(oneD, 0.5));
        }
    }

    @Test
    void tensorsRefuseBadShapesAndMemory() {
        assertFails(
                IllegalArgumentException.class,
                "holds 6 elements but the array has 5",
                () -> Tensor.fromFloats(new float[5], 2, 3));
        assertFails(IllegalArgumentException.class, "positive", () -> Tensor.fromFloats(new float[0], 0));
        assertFails(
                IllegalArgumentException.class, "off-heap", () -> Tensor.wrap(MemorySegment.ofArray(new float[4]), 4));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(16);
            assertFails(
                    IllegalArgumentException.class,
                    "segment has 16 bytes but F32 shape [5] needs 20",
                    () -> Tensor.wrap(seg, 5));
        }
    }

    @Test
    void trainerRefusesBadHyperParameters() {
        try (Model model = Model.create(MaeConfig.tiny(), Device.cpu(), 0)) {
            assertFails(
                    IllegalArgumentException.class,
                    "learningRate",
                    () -> Trainer.builder(model).learningRate(-1).build());
            assertFails(
                    IllegalArgumentException.class,
                    "beta2",
                    () -> Trainer.builder(model).betas(0.9, 1.0).build());
            assertFails(
                    IllegalArgumentException.class,
                    "weightDecay",
                    () -> Trainer.builder(model).weightDecay(Double.NaN).build());
            assertFails(
                    IllegalArgumentException.class,
                    "accumulationSteps",
                    () -> Trainer.builder(model).accumulationSteps(0).build());
            try (Trainer t = Trainer.builder(model)
                            .schedule(u -> Double.POSITIVE_INFINITY)
                            .build();
                    Tensor images = Tensor.fromFloats(new float[128], 1, 2, 8, 8);
                    Masker masker = Masker.random(0.75, 0)) {
                assertFails(
                        IllegalArgumentException.class, "learning rate must be finite", () -> t.step(images, masker));
                assertFails(IllegalStateException.class, "nothing accumulated", t::applyUpdate);
            }
        }
        assertFails(IllegalArgumentException.class, "model must not be null", () -> Trainer.builder(null));
    }

    @Test
    void closedObjectsThrowAndClosingTwiceIsHarmless() {
        Model model = Model.create(MaeConfig.tiny(), Device.cpu(), 0);
        Trainer trainer = Trainer.builder(model).build();
        Masker masker = Masker.random(0.75, 0);
        Tensor images = Tensor.fromFloats(new float[128], 1, 2, 8, 8);
        ForwardResult r = model.forward(images, masker);
        r.close();
        assertFails(
                IllegalStateException.class, "tensor is closed", () -> r.pred().toFloatArray());
        assertFails(
                IllegalStateException.class, "tensor is closed", () -> r.mask().segment());

        trainer.close();
        assertFails(IllegalStateException.class, "trainer is closed", () -> trainer.step(images, masker));
        masker.close();
        assertFails(IllegalStateException.class, "masker is closed", () -> model.forward(images, masker));
        try (Masker fresh = Masker.random(0.75, 0)) {
            images.close();
            assertFails(IllegalStateException.class, "tensor is closed", () -> model.forward(images, fresh));
            model.close();
            try (Tensor other = Tensor.fromFloats(new float[128], 1, 2, 8, 8)) {
                assertFails(IllegalStateException.class, "model is closed", () -> model.forward(other, fresh));
            }
        }
        assertFails(IllegalStateException.class, "model is closed", () -> model.parameter("norm.weight"));
        assertFails(
                IllegalStateException.class,
                "model is closed",
                () -> Trainer.builder(model).build());
        assertDoesNotThrow(() -> {
            model.close();
            trainer.close();
            masker.close();
            images.close();
            r.close();
        });
    }

    @Test
    void aLibraryOfAnotherAbiIsRefused() {
        NativeLibrary.ensureLoaded();
        assertFails(
                MaeException.class,
                "has ABI version 999 but this mae4j needs version " + Mae.MAE_ABI_VERSION(),
                () -> NativeLibrary.checkAbi(999, Path.of("/some/libmae.so")));
        assertDoesNotThrow(() -> NativeLibrary.checkAbi(Mae.mae_abi_version(), NativeLibrary.path()));
    }
}
