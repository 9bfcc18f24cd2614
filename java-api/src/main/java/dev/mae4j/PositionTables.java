package dev.mae4j;

import dev.mae4j.bindings.Mae;
import java.lang.foreign.MemorySegment;

/** Position embeddings for another image size: the fixed sine-cosine tables regenerated, learned ones resized. */
public final class PositionTables {
    private PositionTables() {}

    /** The reference's 2-D sine-cosine table for a grid × grid layout: [1, 1 + grid², embedDim] F64, [CLS] row zero. */
    public static Tensor sincos(int embedDim, int grid) {
        NativeLibrary.ensureLoaded();
        return Downcall.readTensor(out -> Mae.mae_sincos_pos_embed(embedDim, grid, out));
    }

    /**
     * A learned table [1, 1 + g², D] resized to newGrid × newGrid as the reference's interpolate_pos_embed:
     * the [CLS] row kept, the grid resized bicubically (align_corners false).
     */
    public static Tensor resize(Tensor posEmbed, int newGrid) {
        if (posEmbed == null) throw new IllegalArgumentException("posEmbed must not be null");
        NativeLibrary.ensureLoaded();
        try (Downcall d = Downcall.holding(posEmbed)) {
            MemorySegment out = d.pointer();
            d.check(Mae.mae_resize_pos_embed(d.view(posEmbed), newGrid, out));
            return d.adopt(out);
        }
    }
}
