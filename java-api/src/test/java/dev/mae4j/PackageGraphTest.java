package dev.mae4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The API module's packages depend on each other without cycles, read from the compiled classes as jdeps reads them
 * (every class name and type descriptor in each class file's constant pool): io (file formats) at the bottom with
 * nothing of mae4j's, the root package above it, data and eval above the root.
 */
class PackageGraphTest {
    private static final Pattern REFERENCE = Pattern.compile("dev/mae4j/((?:[a-z]+/)*)[A-Z]");

    @Test
    void thePackagesFormNoCycle() throws IOException {
        Map<String, Set<String>> graph = graph(Path.of("target/classes"));
        System.out.println("package graph: " + graph);
        List<String> cycle = cycle(graph);
        assertTrue(cycle.isEmpty(), "a package cycle: " + String.join(" -> ", cycle) + " in " + graph);
        assertEquals(Set.of(), graph.get("dev.mae4j.io"), "io, the file formats, needs nothing of mae4j's");
        assertTrue(graph.get("dev.mae4j").containsAll(Set.of("dev.mae4j.io", "dev.mae4j.bindings")), graph::toString);
    }

    @Test
    void theScanSeesACycleWhenThereIsOne() {
        Map<String, Set<String>> g = new TreeMap<>(Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a")));
        assertEquals(List.of("a", "b", "c", "a"), cycle(g));
        assertEquals(List.of(), cycle(new TreeMap<>(Map.of("a", Set.of("b"), "b", Set.of()))));
    }

    /** Package → the other dev.mae4j packages its classes refer to. */
    static Map<String, Set<String>> graph(Path classes) throws IOException {
        Map<String, Set<String>> graph = new TreeMap<>();
        try (Stream<Path> files = Files.walk(classes.resolve("dev/mae4j"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".class")).toList()) {
                String from = classes.relativize(f.getParent()).toString().replace('/', '.');
                Set<String> to = graph.computeIfAbsent(from, k -> new TreeSet<>());
                for (String s : utf8Constants(f)) {
                    Matcher m = REFERENCE.matcher(s);
                    while (m.find()) {
                        String pkg =
                                ("dev/mae4j/" + m.group(1)).replaceAll("/$", "").replace('/', '.');
                        if (!pkg.equals(from)) to.add(pkg);
                    }
                }
            }
        }
        return graph;
    }

    /** A cycle as the packages on it, first repeated at the end; empty when there is none. */
    static List<String> cycle(Map<String, Set<String>> graph) {
        Map<String, Integer> state = new TreeMap<>(); // 1 on the current path, 2 done
        for (String start : graph.keySet()) {
            List<String> path = new ArrayList<>();
            if (visit(start, graph, state, path)) return path;
        }
        return List.of();
    }

    private static boolean visit(
            String node, Map<String, Set<String>> graph, Map<String, Integer> state, List<String> path) {
        Integer s = state.get(node);
        if (s != null && s == 2) return false;
        path.add(node);
        if (s != null) { // back on the current path: keep only the cycle
            path.subList(0, path.indexOf(node)).clear();
            return true;
        }
        state.put(node, 1);
        for (String next : graph.getOrDefault(node, Set.of())) if (visit(next, graph, state, path)) return true;
        state.put(node, 2);
        path.removeLast();
        return false;
    }

    /** The Utf8 entries of a class file's constant pool: class names, descriptors, signatures, strings. */
    private static List<String> utf8Constants(Path classFile) throws IOException {
        List<String> out = new ArrayList<>();
        try (InputStream in = Files.newInputStream(classFile);
                DataInputStream d = new DataInputStream(in)) {
            d.readInt(); // magic
            d.readUnsignedShort(); // minor
            d.readUnsignedShort(); // major
            int count = d.readUnsignedShort();
            for (int i = 1; i < count; i++) {
                int tag = d.readUnsignedByte();
                switch (tag) {
                    case 1 -> out.add(d.readUTF());
                    case 3, 4, 9, 10, 11, 12, 17, 18 -> d.skipNBytes(4);
                    case 5, 6 -> {
                        d.skipNBytes(8);
                        i++; // long and double take two slots
                    }
                    case 7, 8, 16, 19, 20 -> d.skipNBytes(2);
                    case 15 -> d.skipNBytes(3);
                    default -> throw new IOException(classFile + ": unknown constant tag " + tag);
                }
            }
        }
        return out;
    }
}
