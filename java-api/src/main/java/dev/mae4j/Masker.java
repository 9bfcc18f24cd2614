package dev.mae4j;

import dev.mae4j.bindings.Mae;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Decides which patches each image loses: per image, uniform noise is argsorted, the
 * floor(L·(1 − ratio)) patches with the smallest noise are kept and the rest removed.
 */
public final class Masker extends NativeResource {
    private final MemorySegment handle;
    private final double maskRatio;

    private Masker(MemorySegment handle, double maskRatio) {
        super(() -> Mae.mae_masker_free(handle));
        this.handle = handle;
        this.maskRatio = maskRatio;
    }

    /** Fresh noise for every batch from a generator seeded with {@code seed}: the same seed, the same masks. */
    public static Masker random(double maskRatio, long seed) {
        checkRatio(maskRatio);
        return create(maskRatio, (out) -> Mae.mae_masker_random(maskRatio, seed, out));
    }

    /**
     * Block-wise masking (an ablation of the paper, BEiT's scheme): rectangles of at least 16 patches,
     * aspect ratio 0.3–3.3, removed until the ratio is reached; exactly as many removed as {@link #random}.
     */
    public static Masker blockwise(double maskRatio, long seed) {
        checkRatio(maskRatio);
        return create(maskRatio, (out) -> Mae.mae_masker_blockwise(maskRatio, seed, out));
    }

    /**
     * Grid masking (an ablation of the paper): keeps one patch of every s × s cell at a random offset per
     * image, so {@code maskRatio} must be 1 − 1/s² (0.75 for s = 2).
     */
    public static Masker grid(double maskRatio, long seed) {
        checkRatio(maskRatio);
        return create(maskRatio, (out) -> Mae.mae_masker_grid(maskRatio, seed, out));
    }

    /** The masker of a type: "random", "block" or "grid". */
    public static Masker of(String type, double maskRatio, long seed) {
        return switch (type) {
            case "random" -> random(maskRatio, seed);
            case "block" -> blockwise(maskRatio, seed);
            case "grid" -> grid(maskRatio, seed);
            default ->
                throw new IllegalArgumentException("mask type must be random, block or grid, got '" + type + "'");
        };
    }

    private interface Constructor {
        int create(MemorySegment out);
    }

    private static Masker create(double maskRatio, Constructor constructor) {
        NativeLibrary.ensureLoaded();
        return new Masker(Downcall.readHandle(constructor::create), maskRatio);
    }

    /** Always the caller's noise, [N, L] (copied now): masks for exactly N images of L patches. */
    public static Masker fromNoise(Tensor noise, double maskRatio) {
        if (noise == null) throw new IllegalArgumentException("noise must not be null");
        checkRatio(maskRatio);
        NativeLibrary.ensureLoaded();
        try (Downcall d = Downcall.holding(noise)) {
            MemorySegment out = d.pointer();
            d.check(Mae.mae_masker_from_noise(d.view(noise), maskRatio, out));
            return new Masker(out.get(ValueLayout.ADDRESS, 0), maskRatio);
        }
    }

    private static void checkRatio(double maskRatio) {
        if (!(maskRatio >= 0.0 && maskRatio < 1.0))
            throw new IllegalArgumentException("maskRatio must be in [0, 1), got " + maskRatio);
    }

    /** The generator state that decides the next masks, to resume the same sequence later. */
    public byte[] state() {
        try (Downcall d = Downcall.holding(this)) {
            return GeneratorStates.get(out -> Mae.mae_masker_state_get(handle, out));
        }
    }

    /** Restores a state from {@link #state()}: the following masks are the ones that followed it then. */
    public void restoreState(byte[] state) {
        try (Downcall d = Downcall.holding(this)) {
            GeneratorStates.set(state, view -> Mae.mae_masker_state_set(handle, view));
        }
    }

    public double maskRatio() {
        return maskRatio;
    }

    /** The native handle; call between acquire and release. */
    MemorySegment handle() {
        return handle;
    }

    @Override
    String describe() {
        return "masker";
    }
}
