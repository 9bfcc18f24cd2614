package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** On the module path only the API packages are public; jextract's bindings stay internal. */
class ModuleDescriptorTest {
    @Test
    void onlyTheApiPackagesAreExported() throws IOException {
        try (InputStream in = Files.newInputStream(Path.of("target/classes/module-info.class"))) {
            ModuleDescriptor d = ModuleDescriptor.read(in);
            assertEquals("dev.mae4j", d.name());
            Set<String> exports =
                    d.exports().stream().map(ModuleDescriptor.Exports::source).collect(Collectors.toSet());
            assertEquals(Set.of("dev.mae4j", "dev.mae4j.data", "dev.mae4j.eval", "dev.mae4j.serving"), exports);
            assertEquals(
                    Set.of(),
                    d.exports().stream()
                            .filter(ModuleDescriptor.Exports::isQualified)
                            .collect(Collectors.toSet()));
        }
        try (InputStream in = Files.newInputStream(Path.of("../bindings/target/classes/module-info.class"))) {
            ModuleDescriptor d = ModuleDescriptor.read(in);
            ModuleDescriptor.Exports only = d.exports().iterator().next();
            assertEquals(1, d.exports().size());
            assertEquals("dev.mae4j.bindings", only.source());
            assertEquals(Set.of("dev.mae4j"), only.targets(), "the bindings are exported to the API module alone");
        }
    }
}
