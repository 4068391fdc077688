package org.catonnx.runtime.generate;

import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.nn.GraphOptions;
import org.catonnx.models.ModelSpec;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.TensorData;
import org.catonnx.runtime.ModelSession;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.SessionConfig;
import org.catonnx.runtime.verify.Check;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cached decoding equals re-running the full forward graph: the decode-step logits match the
 * full-forward logits at the same positions (1e-4), and greedy generation is token-identical,
 * over at least 3 chunks, prompts of different lengths ending mid-chunk (and one shorter than a chunk).
 */
class CachedDecodingTest {
    static Stream<Arguments> models() {
        List<Arguments> a = new ArrayList<>();
        a.add(Arguments.of("dense", TestModels.dense(false), 0));
        a.add(Arguments.of("dense gqa", TestModels.dense(true), 0));
        for (int l : new int[] {1, 2, 4, 8}) a.add(Arguments.of("cat", TestModels.cat(l, false, false), l));
        a.add(Arguments.of("cat gqa qknorm", TestModels.cat(4, true, true), 4));
        for (int l : new int[] {1, 2, 4, 8}) a.add(Arguments.of("adaptive", TestModels.adaptive(8), l));
        for (int l : new int[] {1, 4, 8}) a.add(Arguments.of("cat_layer", TestModels.layer(l, null), l));
        a.add(Arguments.of("hybrid CDCD", TestModels.layer(4, "CDCD"), 4));
        return a.stream();
    }

    @ParameterizedTest(name = "{0} chunk {2}")
    @MethodSource("models")
    void cachedDecodingMatchesFullForward(String label, ModelSpec spec, int chunk) {
        WeightSource w = TestModels.weights(spec, 7);
        int l = chunk > 0 ? chunk : 6;
        // lengths: mid-chunk after one whole chunk, mid-chunk after two, and shorter than one chunk
        long[][] prompts = {randomTokens(l + 1 + l / 2, 1, spec.vocabSize()), randomTokens(2 * l + Math.max(1, l - 1), 2, spec.vocabSize()),
                randomTokens(Math.max(1, l - 3), 3, spec.vocabSize())};
        int newTokens = Math.min(3 * l + 2, spec.blockSize() - prompts[1].length);
        try (ModelSession forward = OrtRuntime.get().open(new OnnxModel(ForwardGraphs.forward(spec, w, chunk, GraphOptions.defaults())).toBytes(), SessionConfig.defaults());
             DecodeSessions sessions = DecodeSessions.build(spec, w, chunk, GraphOptions.defaults(), SessionConfig.defaults(), true);
             Generator gen = new Generator(spec, chunk, sessions)) {
            List<long[]> out = gen.generate(Arrays.asList(prompts), GenerationConfig.greedy(newTokens), TokenListener.NONE);
            List<long[]> looped = sessions.has(DecodeSessions.LOOP)
                    ? gen.generate(Arrays.asList(prompts), GenerationConfig.greedy(newTokens).withInGraphLoop(true), TokenListener.NONE) : out;
            double worst = 0;
            for (int r = 0; r < prompts.length; r++) {
                assertArrayEquals(out.get(r), looped.get(r), label + " chunk " + chunk + " row " + r + ": in-graph loop vs step loop");
                long[] expected = fullForwardGreedy(forward, spec, prompts[r], newTokens);
                assertArrayEquals(expected, out.get(r), label + " chunk " + chunk + " row " + r);
                worst = Math.max(worst, stepLogitsError(forward, spec, gen, prompts[r], expected));
            }
            System.out.printf("%s chunk %d: %d tokens x 3 prompts identical (step loop%s, full forward); decode-step vs full-forward logits max error %.2e%n",
                    label, chunk, newTokens, sessions.has(DecodeSessions.LOOP) ? ", in-graph loop" : "", worst);
            assertTrue(worst <= 1e-4, "decode-step logits differ from full forward by " + worst);
        }
    }

    /** The cached decoder's logits along the sequence against one full forward of it, at every position. */
    private static double stepLogitsError(ModelSession forward, ModelSpec spec, Generator gen, long[] prompt, long[] generated) {
        int v = spec.paddedVocabSize();
        float[][] cached = gen.teacherForcedLogits(prompt, generated);
        long[] seq = Arrays.copyOf(prompt, prompt.length + generated.length);
        System.arraycopy(generated, 0, seq, prompt.length, generated.length);
        float[] full = run(forward, seq);
        double worst = 0;
        for (int i = 0; i < cached.length; i++) {
            int pos = prompt.length - 1 + i;
            worst = Math.max(worst, Check.maxAbs(cached[i], Arrays.copyOfRange(full, pos * v, (pos + 1) * v)));
        }
        return worst;
    }

    static long[] fullForwardGreedy(ModelSession forward, ModelSpec spec, long[] prompt, int n) {
        long[] seq = prompt;
        long[] out = new long[n];
        int v = spec.paddedVocabSize();
        for (int i = 0; i < n; i++) {
            float[] logits = run(forward, seq);
            out[i] = Sampler.argmax(logits, (seq.length - 1) * v, spec.vocabSize());
            seq = append(seq, out[i]);
        }
        return out;
    }

    static float[] run(ModelSession forward, long[] seq) {
        return forward.run(Map.of(ForwardGraphs.INPUT_IDS, TensorData.ofLongs(seq, 1, seq.length))).get(ForwardGraphs.LOGITS).toFloats();
    }

    static long[] append(long[] a, long t) {
        long[] b = Arrays.copyOf(a, a.length + 1);
        b[a.length] = t;
        return b;
    }

    static long[] randomTokens(int n, long seed, int vocab) {
        Random r = new Random(seed);
        long[] t = new long[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(vocab);
        return t;
    }
}
