package org.catonnx.models;

import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.nn.GraphOptions;
import org.catonnx.nn.AttentionForm;
import org.catonnx.onnx.OrtRunner;
import org.catonnx.onnx.TensorData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The efficient and the dense-mask CAT attention forms compute the same logits (1e-5). */
class AttentionFormsTest {
    static ModelConfig.Builder cfg(int chunk, int dimFx, boolean gqa) {
        return new ModelConfig.Builder().blockSize(64).vocabSize(100).nLayer(2).nHead(4).nLocalHeads(gqa ? 2 : 4).dim(32)
                .intermediateSize(64).chunkSize(chunk).dimFx(dimFx);
    }

    static ModelConfig compressor(int chunk) {
        return new ModelConfig.Builder().blockSize(64).vocabSize(100).nLayer(1).nHead(2).dim(16).intermediateSize(32)
                .chunkSize(chunk).dimFx(32).build();
    }

    static Stream<Arguments> cases() {
        List<Arguments> a = new ArrayList<>();
        for (int l : new int[] {1, 2, 4, 8, 16, 32}) {
            a.add(Arguments.of("cat", ModelSpec.cat(cfg(l, 32, l % 4 == 0).build(), compressor(l)), l));
            a.add(Arguments.of("cat_layer", ModelSpec.catLayer(cfg(l, 64, false).build(), null), l));
            a.add(Arguments.of("hybrid CDCD", ModelSpec.catLayer(cfg(l, 64, false).nLayer(4).build(), "CDCD"), l));
        }
        ModelSpec adaptive = ModelSpec.catAdaptive(cfg(32, 32, true).build(), compressor(32));
        for (int l : adaptive.chunkSizes()) a.add(Arguments.of("cat_adaptive", adaptive, l));
        return a.stream();
    }

    @ParameterizedTest(name = "{0} chunk {2}")
    @MethodSource("cases")
    void efficientEqualsMasked(String label, ModelSpec spec, int chunk) {
        RandomInit w = new RandomInit(spec, 11);
        for (int len : new int[] {64, 37}) {
            long[] ids = new long[2 * len];
            Random r = new Random(len);
            for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(spec.vocabSize());
            Map<String, TensorData> in = Map.of(ForwardGraphs.INPUT_IDS, TensorData.ofLongs(ids, 2, len));
            float[] eff = OrtRunner.run(ForwardGraphs.forward(spec, w, chunk, GraphOptions.defaults()), in).get("logits").toFloats();
            float[] msk = OrtRunner.run(ForwardGraphs.forward(spec, w, chunk, GraphOptions.defaults().withAttentionForm(AttentionForm.MASKED)), in)
                    .get("logits").toFloats();
            double worst = 0, scale = 0;
            for (int i = 0; i < eff.length; i++) {
                worst = Math.max(worst, Math.abs(eff[i] - msk[i]));
                scale = Math.max(scale, Math.abs(msk[i]));
            }
            System.out.printf("%s chunk %d length %d: efficient vs masked max error %.2e (max |logit| %.2f)%n", label, chunk, len, worst, scale);
            assertTrue(eff.length == 2L * len * spec.paddedVocabSize());
            assertTrue(worst <= 1e-5, label + " chunk " + chunk + " length " + len + ": " + worst);
        }
    }
}
