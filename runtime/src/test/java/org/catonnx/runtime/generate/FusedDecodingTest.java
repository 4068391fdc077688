package org.catonnx.runtime.generate;

import org.catonnx.graphs.GenerationLoopGraphs;
import org.catonnx.models.ModelSpec;
import org.catonnx.nn.GraphOptions;
import org.catonnx.nn.WeightSource;
import org.catonnx.runtime.SessionConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused in-graph generation loop (GroupQueryAttention + RotaryEmbedding over fixed-size
 * cache buffers, GraphOptions.fusedDecode) generates exactly what the step-by-step decoder does
 * (itself checked against full-forward decoding in CachedDecodingTest): several chunks, prompts
 * ending mid-chunk, on a chunk boundary and shorter than a chunk, float32 on the CPU provider.
 */
class FusedDecodingTest {
    static Stream<Arguments> models() {
        List<Arguments> a = new ArrayList<>();
        a.add(Arguments.of("dense", TestModels.dense(false), 0));
        a.add(Arguments.of("dense gqa", TestModels.dense(true), 0));
        for (int l : new int[] {1, 2, 4, 8}) a.add(Arguments.of("cat", TestModels.cat(l, false, false), l));
        a.add(Arguments.of("cat gqa qknorm", TestModels.cat(4, true, true), 4));
        return a.stream();
    }

    @ParameterizedTest(name = "{0} chunk {2}")
    @MethodSource("models")
    void fusedLoopMatchesStepDecoding(String label, ModelSpec spec, int chunk) {
        WeightSource w = TestModels.weights(spec, 11);
        int l = chunk > 0 ? chunk : 6;
        long[][] prompts = {tokens(l + 1 + l / 2, 1, spec.vocabSize()), tokens(2 * l, 2, spec.vocabSize()),
                tokens(Math.max(1, l - 3), 3, spec.vocabSize())};
        int newTokens = Math.min(4 * l + 3, spec.blockSize() - prompts[1].length);
        GraphOptions fused = GraphOptions.defaults().withFusedDecode(true).withFusedNorm(true);
        try (DecodeSessions sessions = DecodeSessions.build(spec, w, chunk, fused, SessionConfig.defaults(), true);
             Generator gen = new Generator(spec, chunk, sessions)) {
            for (long[] p : prompts) {
                List<long[]> one = List.<long[]>of(p);
                long[] step = gen.generate(one, GenerationConfig.greedy(newTokens), TokenListener.NONE).get(0);
                long[] loop = gen.generate(one, GenerationConfig.greedy(newTokens).withInGraphLoop(true), TokenListener.NONE).get(0);
                assertArrayEquals(step, loop, label + " chunk " + chunk + " prompt length " + p.length + ": fused loop vs step decoding");
            }
            // a batch of equal-length prompts runs in lockstep through the same buffers
            List<long[]> batch = Arrays.asList(tokens(l + 2, 4, spec.vocabSize()), tokens(l + 2, 5, spec.vocabSize()), tokens(l + 2, 6, spec.vocabSize()));
            List<long[]> step = gen.generate(batch, GenerationConfig.greedy(newTokens), TokenListener.NONE);
            List<long[]> loop = gen.generate(batch, GenerationConfig.greedy(newTokens).withInGraphLoop(true), TokenListener.NONE);
            for (int r = 0; r < batch.size(); r++) assertArrayEquals(step.get(r), loop.get(r), label + " batch row " + r);
        }
    }

    /**
     * float16 (the 16-bit path GPUs run: RMSNorm without casts, GroupQueryAttention in half
     * precision) on the CPU provider: the same tokens as float16 step decoding.
     */
    @ParameterizedTest(name = "float16 {0} chunk {2}")
    @MethodSource("halfModels")
    void halfPrecisionFusedLoopMatchesStepDecoding(String label, ModelSpec spec, int chunk) {
        WeightSource w = TestModels.weights(spec, 5);
        int l = chunk > 0 ? chunk : 6;
        List<long[]> prompts = Arrays.asList(tokens(l + 2, 7, spec.vocabSize()), tokens(l + 2, 8, spec.vocabSize()));
        int newTokens = 3 * l + 1;
        GraphOptions half = GraphOptions.defaults().withPrecision(org.catonnx.onnx.DType.FLOAT16).withFusedNorm(true).withFusedDecode(true);
        try (DecodeSessions sessions = DecodeSessions.build(spec, w, chunk, half, SessionConfig.defaults(), true);
             Generator gen = new Generator(spec, chunk, sessions)) {
            List<long[]> step = gen.generate(prompts, GenerationConfig.greedy(newTokens), TokenListener.NONE);
            List<long[]> loop = gen.generate(prompts, GenerationConfig.greedy(newTokens).withInGraphLoop(true), TokenListener.NONE);
            for (int r = 0; r < prompts.size(); r++) assertArrayEquals(step.get(r), loop.get(r), label + " float16 row " + r);
        }
    }

    static Stream<Arguments> halfModels() {
        return Stream.of(Arguments.of("dense", TestModels.dense(true), 0), Arguments.of("cat", TestModels.cat(4, true, true), 4));
    }

    @Test
    void adaptiveIsRefusedWithTheReason() {
        ModelSpec spec = TestModels.adaptive(8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GenerationLoopGraphs.cat(spec,
                TestModels.weights(spec, 1), 4, GraphOptions.defaults().withFusedDecode(true)));
        assertTrue(e.getMessage().contains("adaptive"), e.getMessage());
    }

    private static long[] tokens(int n, long seed, int vocab) {
        Random r = new Random(seed);
        long[] t = new long[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(vocab);
        return t;
    }
}
