package org.catonnx.models;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Coverage-guided fuzzing of the model config loader (the golden config.json format, also
 * {@code model.config} of every bundle manifest): bytes -> config.json -> {@link ModelSpec#load}.
 * Arbitrary bytes must give either a valid {@link ModelSpec} or a {@link ConfigException} whose
 * message starts with the file name; anything else (an unchecked exception, a bare IOException,
 * an OutOfMemoryError, a hang) is a bug. An accepted config must be usable and round-trip.
 *
 * <p>Plain {@code ./mvnw test} replays the committed inputs in
 * {@code src/test/resources/org/catonnx/models/ConfigFuzzTestInputs/load/}; to fuzz
 * (docs/RELIABILITY.md): {@code JAZZER_FUZZ=1 ./mvnw -pl graph-builder test -Dtest=ConfigFuzzTest
 * -Djazzer.max_duration=10m}.
 */
class ConfigFuzzTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static Path dir;
    private static Path file;

    @BeforeAll
    static void setUp() throws IOException {
        dir = Files.createTempDirectory("config-fuzz-");
        file = dir.resolve("config.json");
    }

    @AfterAll
    static void tearDown() throws IOException {
        Files.deleteIfExists(file);
        Files.deleteIfExists(dir);
    }

    @FuzzTest(maxDuration = "2m")
    void load(byte[] data) throws IOException {
        Files.write(file, data);
        ModelSpec spec;
        try {
            spec = ModelSpec.load(file);
        } catch (ConfigException e) {
            assertTrue(e.getMessage().startsWith("config.json: ") && e.getMessage().length() > 13, e.getMessage());
            return;
        }
        // A config that is accepted must be usable: derived values are consistent and it round-trips.
        assertTrue(spec.blockSize() > 0 && spec.vocabSize() > 0 && spec.paddedVocabSize() >= spec.vocabSize(), spec.toString());
        for (int c : spec.chunkSizes()) {
            assertTrue(c > 0 && spec.blockSize() % c == 0 || spec.variant == Variant.CAT_ADAPTIVE, "chunk " + c + " of " + spec);
            assertTrue(spec.cacheBytes(c, spec.blockSize(), 4) >= 0, "cache bytes of " + spec);
        }
        ModelSpec again = ModelSpec.fromJson(spec.toJson(MAPPER));
        assertEquals(spec.toJson(MAPPER), again.toJson(MAPPER), "config does not round-trip");
    }
}
