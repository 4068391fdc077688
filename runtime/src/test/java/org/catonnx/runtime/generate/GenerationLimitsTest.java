package org.catonnx.runtime.generate;

import org.catonnx.nn.GraphOptions;
import org.catonnx.models.ModelSpec;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad generation inputs are refused before anything reaches ONNX Runtime, with a message that
 * says what is allowed. The generator here has no sessions at all: an input that got past the
 * checks would fail with "no ... decode graph loaded" instead of the expected message.
 * (Chunk sizes a bundle does not offer: BundleModelTest.refusesChunkSizesTheBundleDoesNotOffer;
 * the same through the command line: GenerateCommandTest.badInputIsRefusedWithTheReason.)
 */
class GenerationLimitsTest {
    static final ModelSpec CAT = TestModels.cat(4, false, false);     // vocab 200, context 64
    static final ModelSpec DENSE = TestModels.dense(false);

    private static String refused(ModelSpec spec, List<long[]> prompts, GenerationConfig cfg) {
        try (Generator g = new Generator(spec, spec.isCat() ? spec.chunkSize() : 0, new DecodeSessions(Map.of(), GraphOptions.defaults()))) {
            return assertThrows(IllegalArgumentException.class, () -> g.generate(prompts, cfg, (r, s, t) -> {})).getMessage();
        }
    }

    private static void assertContains(String message, String expected) {
        assertTrue(message.contains(expected), "expected '" + expected + "' in: " + message);
    }

    @Test
    void tokenIdsOutsideTheVocabulary() {
        for (ModelSpec spec : List.of(CAT, DENSE)) {
            String m = refused(spec, List.of(new long[] {1, 2, 200}), GenerationConfig.greedy(4));
            assertContains(m, "token id 200");
            assertContains(m, "allowed ids are 0..199");
            assertContains(refused(spec, List.of(new long[] {1, Long.MAX_VALUE}), GenerationConfig.greedy(4)), "allowed ids are 0..199");
        }
    }

    @Test
    void negativeIds() {
        String m = refused(CAT, List.of(new long[] {5}, new long[] {3, -1}), GenerationConfig.greedy(4));
        assertContains(m, "prompt 1 has token id -1");
        assertContains(m, "allowed ids are 0..199");
    }

    @Test
    void emptyPromptsAndNoPrompts() {
        assertContains(refused(CAT, List.of(new long[] {1}, new long[0]), GenerationConfig.greedy(4)), "prompt 1 is empty: give at least one token");
        assertContains(refused(CAT, new ArrayList<>(Arrays.asList(new long[] {1}, null)), GenerationConfig.greedy(4)), "prompt 1 is empty");
        assertContains(refused(CAT, List.of(), GenerationConfig.greedy(4)), "no prompts given");
    }

    @Test
    void promptLongerThanTheContext() {
        String m = refused(CAT, List.of(new long[64]), GenerationConfig.greedy(4));
        assertContains(m, "the model's context is 64 tokens, so a prompt may have at most 63");
    }

    @Test
    void batchBeyondTheLimit() {
        List<long[]> many = new ArrayList<>();
        for (int i = 0; i <= GenerationConfig.DEFAULT_MAX_BATCH; i++) many.add(new long[] {1});
        String m = refused(DENSE, many, GenerationConfig.greedy(4));
        assertContains(m, (GenerationConfig.DEFAULT_MAX_BATCH + 1) + " prompts exceed the batch limit of " + GenerationConfig.DEFAULT_MAX_BATCH);
        assertContains(refused(DENSE, List.of(new long[] {1}, new long[] {2}, new long[] {3}), GenerationConfig.greedy(4).withMaxBatch(2)),
                "allowed: 1..2 prompts per call");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GenerationConfig.greedy(4).withMaxBatch(0));
        assertContains(e.getMessage(), "max batch must be at least 1");
        // the limit survives the other with* methods
        assertEquals(2, GenerationConfig.greedy(4).withMaxBatch(2).withSampling(1, 0, 1, 0).withStopTokens(java.util.Set.of(1L)).maxBatch);
    }

    @Test
    void badGenerationSettings() {
        assertContains(assertThrows(IllegalArgumentException.class, () -> GenerationConfig.greedy(0)).getMessage(), "at least 1");
        assertContains(assertThrows(IllegalArgumentException.class, () -> GenerationConfig.greedy(4).withSampling(-1, 0, 1, 0)).getMessage(),
                "temperature must be >= 0");
        assertContains(assertThrows(IllegalArgumentException.class, () -> GenerationConfig.greedy(4).withSampling(1, 0, 1.5, 0)).getMessage(),
                "top-p must be in (0, 1]");
    }
}
