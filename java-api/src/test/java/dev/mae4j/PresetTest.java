package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * libmae's preset registry, read through the API: the paper's models as models_mae.py builds them
 * (mae_vit_base_patch16_dec512d8b and its siblings; the widths typed here from that file), the project's own
 * presets as documented, every one a valid configuration, and an unknown name refused with the list.
 */
class PresetTest {
    private static MaeConfig reference(
            int img,
            int patch,
            int chans,
            int dim,
            int depth,
            int heads,
            int decDim,
            int decDepth,
            int decHeads,
            boolean normPix) {
        return new MaeConfig(img, patch, chans, dim, depth, heads, decDim, decDepth, decHeads, 4.0, normPix, DType.F32);
    }

    @Test
    void thePapersModelsAreModelsMaesConstructors() {
        assertEquals(reference(224, 16, 3, 768, 12, 12, 512, 8, 16, false), MaeConfig.preset("vit-base16"));
        assertEquals(reference(224, 16, 3, 1024, 24, 16, 512, 8, 16, false), MaeConfig.preset("vit-large16"));
        assertEquals(reference(224, 14, 3, 1280, 32, 16, 512, 8, 16, false), MaeConfig.preset("vit-huge14"));
        assertEquals(MaeConfig.preset("vit-base16"), MaeConfig.vitBase16());
        assertEquals(MaeConfig.preset("vit-large16"), MaeConfig.vitLarge16());
        assertEquals(MaeConfig.preset("vit-huge14"), MaeConfig.vitHuge14());
    }

    @Test
    void theProjectsPresetsAreAsDocumented() {
        assertEquals(reference(224, 16, 3, 192, 12, 3, 128, 4, 4, false), MaeConfig.preset("vit-tiny16"));
        assertEquals(reference(28, 4, 1, 192, 6, 3, 128, 2, 4, true), MaeConfig.preset("fashion-mnist"));
        assertEquals(reference(28, 4, 1, 128, 4, 4, 64, 2, 4, true), MaeConfig.preset("fashion-mnist-small"));
        assertEquals(MaeConfig.preset("fashion-mnist"), MaeConfig.fashionMnist());
        assertEquals(MaeConfig.preset("fashion-mnist-small"), MaeConfig.fashionMnistSmall());
    }

    @Test
    void everyListedPresetLoadsWithADescription() {
        List<String> names = List.copyOf(MaeConfig.presets().keySet());
        // the ones this test checks are listed; a new preset needs no edit here to be checked as valid below
        assertTrue(
                names.containsAll(List.of(
                        "vit-base16",
                        "vit-large16",
                        "vit-huge14",
                        "vit-tiny16",
                        "fashion-mnist",
                        "fashion-mnist-small")),
                names.toString());
        assertEquals(names.size(), Set.copyOf(names).size(), "one spelling, once: " + names);
        for (String name : names) {
            assertEquals(
                    MaeConfig.DEFAULT_LAYER_NORM_EPS, MaeConfig.preset(name).layerNormEps(), name);
            assertTrue(MaeConfig.presets().get(name).length() > 10, name + " has a description");
        }
    }

    @Test
    void anUnknownNameIsRefusedWithTheList() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MaeConfig.preset("vitb16"));
        assertTrue(e.getMessage().contains("unknown preset 'vitb16'"), e.getMessage());
        assertTrue(e.getMessage().contains("vit-base16, vit-large16"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> MaeConfig.preset(null));
    }
}
