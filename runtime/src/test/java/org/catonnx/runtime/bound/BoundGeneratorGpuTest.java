package org.catonnx.runtime.bound;

import org.catonnx.models.ModelConfig;
import org.catonnx.models.ModelSpec;
import org.catonnx.nn.AttentionForm;
import org.catonnx.nn.GraphOptions;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.DType;
import org.catonnx.runtime.SessionConfig;
import org.catonnx.runtime.generate.DecodeSessions;
import org.catonnx.runtime.generate.GenerationConfig;
import org.catonnx.runtime.generate.Generator;
import org.catonnx.runtime.generate.TestModels;
import org.catonnx.runtime.generate.TokenListener;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Bound generation on CUDA (GroupQueryAttention's CUDA kernels are 16-bit): float16 tokens equal
 * the CPU provider's float16 step decoding, with plain runs and with CUDA-graph replays (three
 * calls: capture, then replays); bfloat16 replays equal bfloat16 plain runs. Both with
 * GroupQueryAttention and with our CatDecodeAttention (attention form custom).
 */
@Tag("gpu")
class BoundGeneratorGpuTest {
    @BeforeAll
    static void gpu() {
        assumeTrue(BoundRuntime.cudaAvailable(0), "no CUDA library or GPU");
    }

    static Stream<Arguments> models() {
        return Stream.of(Arguments.of("dense", TestModels.dense(true), 0), Arguments.of("cat", TestModels.cat(4, true, true), 4),
                Arguments.of("cat", TestModels.cat(8, false, false), 8));
    }

    /**
     * GroupQueryAttention on the small test models; our CatDecodeAttention's CUDA kernel takes
     * head_dim 32, 64 or 128, so its cases use the same shapes with head_dim 32.
     */
    static Stream<Arguments> modelsAndForms() {
        Stream<Arguments> gqa = models().map(a -> Arguments.of(a.get()[0], a.get()[1], a.get()[2], AttentionForm.EFFICIENT));
        Stream<Arguments> custom = Stream.of(
                Arguments.of("dense hd32", ModelSpec.transformer(headDim32(0).build()), 0, AttentionForm.CUSTOM),
                Arguments.of("cat hd32", ModelSpec.cat(headDim32(4).build(), compressor(4)), 4, AttentionForm.CUSTOM),
                Arguments.of("cat hd32", ModelSpec.cat(headDim32(8).nLocalHeads(4).build(), compressor(8)), 8, AttentionForm.CUSTOM));
        return Stream.concat(gqa, custom);
    }

    private static ModelConfig.Builder headDim32(int chunk) {
        return new ModelConfig.Builder().blockSize(64).vocabSize(200).nLayer(2).nHead(4).nLocalHeads(2).dim(128)
                .intermediateSize(128).chunkSize(chunk).dimFx(chunk > 0 ? 128 : 0);
    }

    private static ModelConfig compressor(int chunk) {
        return new ModelConfig.Builder().blockSize(64).vocabSize(200).nLayer(1).nHead(2).dim(64).intermediateSize(64)
                .chunkSize(chunk).dimFx(128).build();
    }

    @ParameterizedTest(name = "float16 {0} chunk {2} {3}")
    @MethodSource("modelsAndForms")
    void float16MatchesCpuStepDecoding(String label, ModelSpec spec, int chunk, AttentionForm form) {
        WeightSource w = TestModels.weights(spec, 5);
        GraphOptions ref = GraphOptions.defaults().withPrecision(DType.FLOAT16).withFusedNorm(true);
        GraphOptions half = ref.withAttentionForm(form);
        List<long[]> prompts = prompts(spec, 3, 5);
        int n = 3 * Math.max(chunk, 4) + 1;
        List<long[]> want;
        try (Generator g = new Generator(spec, chunk, DecodeSessions.build(spec, w, chunk, ref, SessionConfig.defaults()))) {
            want = g.generate(prompts, GenerationConfig.greedy(n), TokenListener.NONE);
        }
        for (boolean graph : new boolean[] {false, true}) {
            try (BoundGenerator gen = BoundGenerator.open(BoundRuntime.cuda(0), spec, w, chunk, 3, half,
                    BoundSession.Options.defaults().withCudaGraph(graph))) {
                for (int call = 0; call < 3; call++) {
                    List<long[]> got = gen.generate(prompts, n);
                    for (int r = 0; r < 3; r++) assertArrayEquals(want.get(r), got.get(r), label + " CUDA graph " + graph + " call " + call + " row " + r);
                }
            }
        }
    }

    @ParameterizedTest(name = "bfloat16 {0} chunk {2} {3}")
    @MethodSource("modelsAndForms")
    void bfloat16ReplaysEqualPlainRuns(String label, ModelSpec spec, int chunk, AttentionForm form) {
        WeightSource w = TestModels.weights(spec, 6);
        GraphOptions bf16 = GraphOptions.defaults().withPrecision(DType.BFLOAT16).withFusedNorm(true).withAttentionForm(form);
        List<long[]> prompts = prompts(spec, 4, 9);
        int n = 3 * Math.max(chunk, 4) + 2;
        List<long[]> plain;
        try (BoundGenerator gen = BoundGenerator.open(BoundRuntime.cuda(0), spec, w, chunk, 4, bf16, BoundSession.Options.defaults())) {
            plain = gen.generate(prompts, n);
        }
        try (BoundGenerator gen = BoundGenerator.open(BoundRuntime.cuda(0), spec, w, chunk, 4, bf16,
                BoundSession.Options.defaults().withCudaGraph(true))) {
            for (int call = 0; call < 2; call++) {
                List<long[]> got = gen.generate(prompts, n);
                for (int r = 0; r < 4; r++) assertArrayEquals(plain.get(r), got.get(r), label + " call " + call + " row " + r);
            }
        }
    }

    private static List<long[]> prompts(ModelSpec spec, int rows, int length) {
        Random r = new Random(length);
        long[][] p = new long[rows][length];
        for (long[] row : p) for (int i = 0; i < length; i++) row[i] = r.nextInt(spec.vocabSize());
        return List.of(p);
    }
}
