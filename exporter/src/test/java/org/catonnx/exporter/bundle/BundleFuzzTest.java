package org.catonnx.exporter.bundle;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.catonnx.exporter.io.AtomicFiles;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Presets;
import org.catonnx.models.RandomInit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Coverage-guided fuzzing of the bundle loader. Two targets:
 * <ul>
 * <li>{@code manifest}: the bytes become {@code manifest.json} of a real, small bundle (tiny
 *     adaptive CAT, chunk sizes 4 and 8) and {@link Bundle#open} verifies it. So that inputs
 *     reach the checks behind the checksums, a {@code files[]} entry whose {@code sha256} or
 *     {@code size} is the string {@code "auto"} gets the real value of the file it names (the
 *     committed inputs use this, so they survive changes to the exporter's output).</li>
 * <li>{@code archive}: the bytes are a {@code .cat} archive, extracted and verified.</li>
 * </ul>
 * The only acceptable failure is a {@link BundleException} naming a file; an opened bundle must be
 * self-consistent, and nothing may be left in the temporary directory.
 *
 * <p>Plain {@code ./mvnw test} replays {@code src/test/resources/org/catonnx/exporter/bundle/
 * BundleFuzzTestInputs/{manifest,archive}/}; to fuzz one target: {@code JAZZER_FUZZ=1 ./mvnw -pl
 * exporter -am test -Dtest='BundleFuzzTest#manifest' -Dsurefire.failIfNoSpecifiedTests=false
 * -Djazzer.max_duration=10m} (docs/RELIABILITY.md).
 */
class BundleFuzzTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static Path root;
    private static Path bundle;
    private static Path archive;
    private static Path tmp;
    /** Bundle.open's extractions of this JVM (other processes may open archives at the same time) */
    private static final String OWN_EXTRACTIONS = "cat-bundle-" + ProcessHandle.current().pid() + "-";

    @BeforeAll
    static void writeBundle() throws IOException {
        root = Files.createTempDirectory("bundle-fuzz-");
        bundle = root.resolve("b");
        ModelSpec spec = Presets.get("tiny-adaptive", 0);
        new BundleWriter(spec, new RandomInit(spec, 3)).chunkSizes(4, 8).provenance(Provenance.preset("tiny-adaptive", 3)).write(bundle);
        archive = root.resolve("fuzz.cat");
        tmp = Path.of(System.getProperty("java.io.tmpdir"));
    }

    @AfterAll
    static void cleanUp() throws IOException {
        AtomicFiles.deleteRecursively(root);
    }

    @FuzzTest(maxDuration = "2m")
    void manifest(byte[] data) throws IOException {
        Files.write(bundle.resolve(BundleFormat.MANIFEST), withAutoFields(data));
        openExpectingOnlyBundleException(bundle);
    }

    @FuzzTest(maxDuration = "2m")
    void archive(byte[] data) throws IOException {
        Files.write(archive, data);
        Set<String> before = extractions();
        openExpectingOnlyBundleException(archive);
        Set<String> left = extractions();
        left.removeAll(before);
        assertTrue(left.isEmpty(), "temporary extraction left behind: " + left);
    }

    /** The committed valid manifests open, so the corpus reaches the checks behind the checksums. */
    @Test
    void committedValidManifestsOpen() throws IOException {
        Path dir = Path.of("src/test/resources/org/catonnx/exporter/bundle/BundleFuzzTestInputs/manifest");
        for (String seed : new String[] {"valid_adaptive_auto_checksums.json", "valid_compact.json"}) {
            Files.write(bundle.resolve(BundleFormat.MANIFEST), withAutoFields(Files.readAllBytes(dir.resolve(seed))));
            try (Bundle b = Bundle.open(bundle)) {
                assertArrayEquals(new int[] {4, 8}, b.chunkSizes(), seed);
                assertEquals(14, b.graphs().size(), seed);
            }
        }
    }

    private static void openExpectingOnlyBundleException(Path path) throws IOException {
        Bundle b;
        try {
            b = Bundle.open(path);
        } catch (BundleException e) {
            assertNotNull(e.kind());
            assertFalse(e.getMessage() == null || e.getMessage().isBlank());
            return;
        }
        try (b) {
            // what was accepted is usable: every accessor answers, every listed graph exists
            assertNotNull(b.spec());
            b.precision();
            b.attentionForm();
            assertTrue(Files.isRegularFile(b.weights()));
            assertEquals(b.fileSizes().get(b.manifest().get("weights").get("file").asText()), b.weightsBytes());
            for (Bundle.GraphEntry g : b.graphs()) assertTrue(Files.isRegularFile(g.path()), g.file());
            for (int c : b.chunkSizes()) assertEquals(c, b.resolveChunk(c));
            b.resolveChunk(0);
        }
    }

    /** Fills "auto" sizes and checksums of files[] entries that name a regular file inside the bundle. */
    static byte[] withAutoFields(byte[] data) {
        JsonNode m;
        try {
            m = MAPPER.readTree(data);
        } catch (IOException e) {
            return data;
        }
        if (m == null || !m.isObject() || !m.path("files").isArray()) return data;
        boolean changed = false;
        for (JsonNode f : m.get("files")) {
            if (!(f instanceof ObjectNode o) || !f.path("path").isTextual()) continue;
            String rel = f.get("path").asText();
            if (BundleFormat.unsafeReason(rel) != null) continue;
            Path p = bundle.resolve(rel);
            try {
                if (!Files.isRegularFile(p)) continue;
                if ("auto".equals(f.path("sha256").asText(null))) {
                    o.put("sha256", BundleFormat.sha256(p));
                    changed = true;
                }
                if ("auto".equals(f.path("size").asText(null))) {
                    o.put("size", Files.size(p));
                    changed = true;
                }
            } catch (IOException | RuntimeException e) {
                // not the harness's business: Bundle.open will judge the path
            }
        }
        if (!changed) return data;
        try {
            return MAPPER.writeValueAsBytes(m);
        } catch (IOException e) {
            return data;
        }
    }

    private static Set<String> extractions() throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(OWN_EXTRACTIONS)).collect(Collectors.toSet());
        }
    }
}
