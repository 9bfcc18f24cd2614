package dev.mae4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every Java block of the README compiles against this API: each becomes a method whose parameters are the names
 * the block uses without declaring them (listed here per block, found by its first line), so a renamed method or
 * a changed signature in the README fails the build.
 */
class ReadmeSnippetTest {
    // first line of a README block -> the parameters of the method it becomes
    private static final Map<String, String> FREE_NAMES = new LinkedHashMap<>();

    static {
        FREE_NAMES.put("MaeConfig config = MaeConfig.preset(", "float[] pixels, int batch");
        FREE_NAMES.put(
                "try (Classifier c = Classifier.fromEncoder(model",
                "Model model, Tensor images, int n, Random rng, long[] labels");
        FREE_NAMES.put("try (Encoder encoder = Encoder.load(", "Tensor images");
        FREE_NAMES.put("Library.setThreads(4);", "Model model");
        FREE_NAMES.put(
                "try (ProcessGroup group = ProcessGroup.join(",
                "Model model, int rank, int worldSize, ImageDataset dataset, Masker masker, Fit fit,"
                        + " Fit.Listener listener");
    }

    static List<String> javaBlocks(String markdown) {
        List<String> blocks = new ArrayList<>();
        StringBuilder block = null;
        for (String line : markdown.split("\n", -1)) {
            if (block == null && line.strip().equals("```java")) block = new StringBuilder();
            else if (block != null && line.strip().equals("```")) {
                blocks.add(block.toString());
                block = null;
            } else if (block != null) block.append(line).append('\n');
        }
        return blocks;
    }

    @Test
    void everyJavaBlockOfTheReadmeCompiles(@TempDir Path out) throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        List<String> blocks = javaBlocks(readme);
        assertEquals(FREE_NAMES.size(), blocks.size(), "README Java blocks (add a new block's free names here)");
        StringBuilder source = new StringBuilder("""
                import dev.mae4j.*;
                import dev.mae4j.data.*;
                import java.nio.file.Path;
                import java.util.Random;

                class ReadmeSnippets {
                """);
        for (int i = 0; i < blocks.size(); i++) {
            String first = blocks.get(i).lines().findFirst().orElse("");
            String params = FREE_NAMES.entrySet().stream()
                    .filter(e -> first.startsWith(e.getKey()))
                    .map(Map.Entry::getValue)
                    .findFirst()
                    .orElse(null);
            assertNotNull(params, "README block " + i + " starting '" + first + "' has no entry in FREE_NAMES");
            source.append("static void block")
                    .append(i)
                    .append('(')
                    .append(params)
                    .append(") throws Exception {\n")
                    .append(blocks.get(i))
                    .append("}\n");
        }
        source.append("}\n");

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        JavaFileObject file =
                new SimpleJavaFileObject(URI.create("string:///ReadmeSnippets.java"), JavaFileObject.Kind.SOURCE) {
                    @Override
                    public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                        return source;
                    }
                };
        String classPath = String.join(
                java.io.File.pathSeparator,
                System.getProperty("java.class.path", ""),
                System.getProperty("jdk.module.path", ""));
        StringWriter errors = new StringWriter();
        boolean ok = javac.getTask(
                        errors,
                        null,
                        null,
                        List.of("-proc:none", "-d", out.toString(), "-cp", classPath),
                        null,
                        List.of(file))
                .call();
        assertTrue(ok, "the README's Java does not compile:\n" + errors + "\n" + source);
    }
}
