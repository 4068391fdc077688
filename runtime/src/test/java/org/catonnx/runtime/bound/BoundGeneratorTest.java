package org.catonnx.runtime.bound;

import org.catonnx.exporter.reference.ReferenceCase;
import org.catonnx.models.ModelSpec;
import org.catonnx.nn.AttentionForm;
import org.catonnx.nn.GraphOptions;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.TensorData;
import org.catonnx.runtime.SessionConfig;
import org.catonnx.runtime.generate.DecodeSessions;
import org.catonnx.runtime.generate.GenerationConfig;
import org.catonnx.runtime.generate.Generator;
import org.catonnx.runtime.generate.TestModels;
import org.catonnx.runtime.generate.TokenListener;
import org.catonnx.runtime.golden.GoldenCases;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Bound generation (fixed-shape step graphs, caches in bound buffers updated in place by
 * GroupQueryAttention) on the CPU provider: the reference's greedy generations token for token,
 * and the same tokens as the step decoder for dense and CAT at every chunk size, prompts ending
 * mid-chunk, on a boundary and shorter than a chunk, a batch in lockstep.
 */
class BoundGeneratorTest {
    @BeforeAll
    static void nativeLibrary() {
        assumeTrue(BoundRuntime.cpuAvailable(), "native library not built (-Dcatonnx.native.skip=true)");
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"cat_c4,EFFICIENT", "cat_c8_qknorm,EFFICIENT", "cat_c4,CUSTOM", "cat_c8_qknorm,CUSTOM"})
    void reproducesReferenceGeneration(String name, AttentionForm form) throws Exception {
        try (ReferenceCase rc = ReferenceCase.open(GoldenCases.dir(name))) {
            TensorData prompt = rc.require("gen.prompt"), want = rc.require("gen.output");
            int b = (int) prompt.dim(0), n = (int) want.dim(1);
            List<long[]> prompts = prompt.toLongRows(), wanted = want.toLongRows();
            try (BoundGenerator gen = BoundGenerator.open(BoundRuntime.cpu(), rc.spec(), rc.weights(), rc.spec().chunkSize(), b,
                    GraphOptions.defaults().withAttentionForm(form), BoundSession.Options.defaults())) {
                List<long[]> out = gen.generate(prompts, n);
                for (int r = 0; r < b; r++) assertArrayEquals(wanted.get(r), out.get(r), name + " row " + r);
                // a second call starts from scratch in the same buffers
                assertArrayEquals(wanted.get(0), gen.generate(prompts, n).get(0), name + " second call");
            }
        }
    }

    static Stream<Arguments> models() {
        List<Arguments> a = new ArrayList<>();
        a.add(Arguments.of("dense gqa", TestModels.dense(true), 0));
        for (int l : new int[] {1, 2, 4, 8}) a.add(Arguments.of("cat", TestModels.cat(l, false, false), l));
        a.add(Arguments.of("cat gqa qknorm", TestModels.cat(4, true, true), 4));
        return a.stream();
    }

    @ParameterizedTest(name = "{0} chunk {2}")
    @MethodSource("models")
    void matchesStepDecoding(String label, ModelSpec spec, int chunk) {
        matchStepDecoding(label, spec, chunk, GraphOptions.defaults());
    }

    /** Attention form custom: our CatDecodeAttention in the step graphs instead of GroupQueryAttention. */
    @ParameterizedTest(name = "custom decode op: {0} chunk {2}")
    @MethodSource("models")
    void customDecodeOperatorMatchesStepDecoding(String label, ModelSpec spec, int chunk) {
        matchStepDecoding(label + " (custom)", spec, chunk, GraphOptions.defaults().withAttentionForm(AttentionForm.CUSTOM));
    }

    private static void matchStepDecoding(String label, ModelSpec spec, int chunk, GraphOptions bound) {
        WeightSource w = TestModels.weights(spec, 11);
        int l = chunk > 0 ? chunk : 6;
        int[] lengths = {l + 1 + l / 2, 2 * l, Math.max(1, l - 3)};
        try (Generator ref = new Generator(spec, chunk, DecodeSessions.build(spec, w, chunk, GraphOptions.defaults(), SessionConfig.defaults()));
             BoundGenerator gen = BoundGenerator.open(BoundRuntime.cpu(), spec, w, chunk, 3, bound, BoundSession.Options.defaults())) {
            for (int p : lengths) {
                List<long[]> prompts = List.of(tokens(p, 1, spec.vocabSize()), tokens(p, 2, spec.vocabSize()), tokens(p, 3, spec.vocabSize()));
                int n = Math.min(4 * l + 3, spec.blockSize() - p);
                List<long[]> want = ref.generate(prompts, GenerationConfig.greedy(n), TokenListener.NONE);
                List<long[]> got = gen.generate(prompts, n);
                for (int r = 0; r < 3; r++) assertArrayEquals(want.get(r), got.get(r), label + " chunk " + chunk + " prompt " + p + " row " + r);
            }
        }
    }

    /** The 16-bit path GPUs run (GroupQueryAttention and RMSNorm in half precision), float16 on the CPU. */
    @ParameterizedTest(name = "float16 {0}")
    @MethodSource("halfModels")
    void halfPrecisionMatchesStepDecoding(String label, ModelSpec spec, int chunk) {
        WeightSource w = TestModels.weights(spec, 5);
        GraphOptions half = GraphOptions.defaults().withPrecision(DType.FLOAT16).withFusedNorm(true);
        int l = chunk > 0 ? chunk : 6;
        List<long[]> prompts = List.of(tokens(l + 2, 7, spec.vocabSize()), tokens(l + 2, 8, spec.vocabSize()));
        try (Generator ref = new Generator(spec, chunk, DecodeSessions.build(spec, w, chunk, half, SessionConfig.defaults()));
             BoundGenerator gen = BoundGenerator.open(BoundRuntime.cpu(), spec, w, chunk, 2, half, BoundSession.Options.defaults())) {
            List<long[]> want = ref.generate(prompts, GenerationConfig.greedy(3 * l + 1), TokenListener.NONE);
            List<long[]> got = gen.generate(prompts, 3 * l + 1);
            for (int r = 0; r < 2; r++) assertArrayEquals(want.get(r), got.get(r), label + " float16 row " + r);
        }
    }

    static Stream<Arguments> halfModels() {
        return Stream.of(Arguments.of("dense", TestModels.dense(true), 0), Arguments.of("cat", TestModels.cat(4, true, true), 4));
    }

    @Test
    void badInputIsRefusedAndTheGeneratorStaysUsable() {
        ModelSpec spec = TestModels.cat(4, false, false);
        WeightSource w = TestModels.weights(spec, 3);
        try (BoundGenerator gen = BoundGenerator.open(BoundRuntime.cpu(), spec, w, 4, 2, GraphOptions.defaults(), BoundSession.Options.defaults())) {
            long[] ok = tokens(5, 1, spec.vocabSize());
            List<long[]> before = gen.generate(List.of(ok, ok), 6);
            assertMessage(gen, List.of(ok), 6, "batch 2");
            assertMessage(gen, List.of(ok, tokens(4, 2, spec.vocabSize())), 6, "equal lengths");
            assertMessage(gen, List.of(ok, new long[] {1, 2, spec.vocabSize(), 3, 4}), 6, "outside the vocabulary");
            assertMessage(gen, List.of(ok, new long[] {1, 2, -1, 3, 4}), 6, "outside the vocabulary");
            assertMessage(gen, List.of(ok, ok), spec.blockSize(), "block_size");
            assertMessage(gen, List.of(new long[0], new long[0]), 6, "empty");
            List<long[]> after = gen.generate(List.of(ok, ok), 6);
            for (int r = 0; r < 2; r++) assertArrayEquals(before.get(r), after.get(r));
        }
    }

    @Test
    void otherVariantsAndChunkSizesAreRefusedWithTheReason() {
        ModelSpec spec = TestModels.adaptive(8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BoundGenerator.open(BoundRuntime.cpu(), spec,
                TestModels.weights(spec, 1), 4, 1, GraphOptions.defaults(), BoundSession.Options.defaults()));
        assertTrue(e.getMessage().contains("adaptive"), e.getMessage());
        ModelSpec cat = TestModels.cat(4, false, false);
        e = assertThrows(IllegalArgumentException.class, () -> BoundGenerator.open(BoundRuntime.cpu(), cat,
                TestModels.weights(cat, 1), 8, 1, GraphOptions.defaults(), BoundSession.Options.defaults()));
        assertTrue(e.getMessage().contains("chunk size 4"), e.getMessage());
    }

    private static void assertMessage(BoundGenerator gen, List<long[]> prompts, int n, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> gen.generate(prompts, n));
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }

    private static long[] tokens(int n, long seed, int vocab) {
        Random r = new Random(seed);
        long[] t = new long[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(vocab);
        return t;
    }
}
