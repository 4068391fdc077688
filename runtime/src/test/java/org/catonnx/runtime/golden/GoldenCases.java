package org.catonnx.runtime.golden;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Locates the shared golden directory (surefire passes catonnx.shared). */
public final class GoldenCases {
    public static final List<String> ALL = List.of("transformer", "cat_c4", "cat_c8_qknorm", "cat_adaptive_c8", "cat_layer_c4");

    private GoldenCases() {}

    /** For @MethodSource. */
    public static java.util.stream.Stream<String> names() {
        return ALL.stream();
    }

    public static Path dir(String name) {
        String shared = System.getProperty("catonnx.shared");
        Path root = shared != null && Files.isDirectory(Path.of(shared, "golden")) ? Path.of(shared, "golden") : Path.of("/work/shared/golden");
        Path d = root.resolve(name);
        Assumptions.assumeTrue(Files.isDirectory(d), "golden case " + name + " not found under " + root);
        return d;
    }
}
