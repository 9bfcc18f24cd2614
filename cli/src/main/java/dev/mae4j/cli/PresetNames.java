package dev.mae4j.cli;

import dev.mae4j.MaeConfig;
import java.util.Iterator;

/** The preset names of libmae's registry, for picocli's ${COMPLETION-CANDIDATES} in help texts. */
final class PresetNames implements Iterable<String> {
    @Override
    public Iterator<String> iterator() {
        return MaeConfig.presets().keySet().iterator();
    }
}
