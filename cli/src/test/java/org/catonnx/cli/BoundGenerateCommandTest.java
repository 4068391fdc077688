package org.catonnx.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.catonnx.runtime.bound.BoundRuntime;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.catonnx.cli.BundleCommandsTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * export --fixed-step-batch writes the fixed-shape step graphs into the bundle; generate --bound
 * runs them (bound sessions, CPU here) and produces the step decoder's tokens; misuse is refused.
 */
class BoundGenerateCommandTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void nativeLibrary() {
        Assumptions.assumeTrue(BoundRuntime.cpuAvailable(), "native library not built (-Dcatonnx.native.skip=true)");
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-cat", "tiny-dense"})
    void boundGenerationEqualsTheStepDecoder(String preset) throws Exception {
        Path bundle = dir.resolve(preset);
        BundleCommandsTest.Run e = run("export", "--preset", preset, "--fixed-step-batch", "3", "-o", bundle.toString(), "--json");
        assertEquals(0, e.code(), e.out() + e.err());
        JsonNode graphs = new ObjectMapper().readTree(bundle.resolve("manifest.json").toFile()).get("graphs");
        int fixed = 0;
        for (JsonNode g : graphs) {
            if (g.get("purpose").asText().startsWith("fixed_")) {
                fixed++;
                assertEquals(3, g.get("batch").asInt(), g.toString());
            }
        }
        assertEquals(preset.equals("tiny-cat") ? 2 : 1, fixed, "fixed_step (+ fixed_compress for CAT)");

        String[] prompts = {"--ids", "1,2,3,4,5,6,7,8,9,10,11", "--ids", "7,8,9,10,11,12,13,14,15,16,17"};
        BundleCommandsTest.Run step = run(concat(new String[] {"generate", bundle.toString(), "--max-new-tokens", "20", "--json"}, prompts));
        BundleCommandsTest.Run bound = run(concat(new String[] {"generate", bundle.toString(), "--max-new-tokens", "20", "--json", "--bound"}, prompts));
        assertEquals(0, step.code(), step.err());
        assertEquals(0, bound.code(), bound.err());
        ObjectMapper m = new ObjectMapper();
        assertEquals(m.readTree(step.out()).get("results"), m.readTree(bound.out()).get("results"), "bound = step decoder");

        BundleCommandsTest.Run inspect = run("inspect", bundle.toString());
        assertEquals(0, inspect.code(), inspect.err());
        assertTrue(inspect.out().contains("fixed_step") && inspect.out().contains("(batch 3)"), inspect.out());

        BundleCommandsTest.Run v = run("verify", "--bundle", bundle.toString(), "--json");
        assertEquals(0, v.code(), v.out() + v.err());
        assertTrue(v.out().contains("bound_vs_step"), v.out());

        BundleCommandsTest.Run many = run("generate", bundle.toString(), "--bound", "--ids", "1", "--ids", "2", "--ids", "3", "--ids", "4");
        assertEquals(3, many.code(), many.err());
        assertTrue(many.err().contains("at most 3"), many.err());
        BundleCommandsTest.Run ragged = run("generate", bundle.toString(), "--bound", "--ids", "1,2", "--ids", "3");
        assertEquals(3, ragged.code(), ragged.err());
        assertTrue(ragged.err().contains("equal lengths"), ragged.err());
        BundleCommandsTest.Run sampled = run("generate", bundle.toString(), "--bound", "--ids", "1,2", "--temperature", "0.7");
        assertEquals(3, sampled.code(), sampled.err());
        assertTrue(sampled.err().contains("greedy"), sampled.err());
    }

    /**
     * A bundle of the custom form (our operators: the fastest GPU path) records that it needs the
     * library, and its bound, step and verify paths register it and agree; the portable form's
     * tokens are the reference (float32: the operators compute what the standard ops do).
     */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-cat", "tiny-dense"})
    void customFormBundleAgreesWithThePortableOne(String preset) throws Exception {
        Path custom = dir.resolve(preset + "-custom"), portable = dir.resolve(preset + "-portable");
        BundleCommandsTest.Run e = run("export", "--preset", preset, "--attention", "custom", "--fixed-step-batch", "2", "-o", custom.toString());
        assertEquals(0, e.code(), e.out() + e.err());
        assertEquals(0, run("export", "--preset", preset, "--fixed-step-batch", "2", "-o", portable.toString()).code());
        ObjectMapper m = new ObjectMapper();
        assertTrue(m.readTree(custom.resolve("manifest.json").toFile()).get("custom_ops").asBoolean(), "manifest records the library");
        assertTrue(!m.readTree(portable.resolve("manifest.json").toFile()).get("custom_ops").asBoolean());
        String[] prompts = {"--ids", "3,1,4,1,5,9,2,6,5", "--ids", "2,7,1,8,2,8,1,8,2"};
        JsonNode want = m.readTree(run(concat(new String[] {"generate", portable.toString(), "--max-new-tokens", "19", "--json"}, prompts)).out()).get("results");
        for (boolean bound : new boolean[] {false, true}) {
            String[] args = concat(new String[] {"generate", custom.toString(), "--max-new-tokens", "19", "--json"}, prompts);
            BundleCommandsTest.Run g = run(bound ? concat(args, new String[] {"--bound"}) : args);
            assertEquals(0, g.code(), g.err());
            assertEquals(want, m.readTree(g.out()).get("results"), (bound ? "bound" : "step") + " decoding of the custom bundle");
        }
        BundleCommandsTest.Run v = run("verify", "--bundle", custom.toString());
        assertEquals(0, v.code(), v.out() + v.err());
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-cat"})
    void aBundleWithoutFixedStepGraphsSaysHowToGetThem(String preset) {
        Path bundle = dir.resolve(preset + "-plain");
        assertEquals(0, run("export", "--preset", preset, "-o", bundle.toString()).code());
        BundleCommandsTest.Run r = run("generate", bundle.toString(), "--bound", "--ids", "1,2");
        assertEquals(3, r.code(), r.err());
        assertTrue(r.err().contains("--fixed-step-batch"), r.err());
        BundleCommandsTest.Run adaptive = run("export", "--preset", "tiny-adaptive", "--fixed-step-batch", "2", "-o", dir.resolve("ad").toString());
        assertTrue(adaptive.code() != 0 && adaptive.err().contains("cat_adaptive"), adaptive.err());
    }

    private static String[] concat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
