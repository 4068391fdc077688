package org.catonnx.runtime.golden;

import org.catonnx.exporter.reference.ReferenceCase;
import org.catonnx.nn.GraphOptions;
import org.catonnx.onnx.TensorData;
import org.catonnx.runtime.SessionConfig;
import org.catonnx.runtime.generate.DecodeSessions;
import org.catonnx.runtime.generate.GenerationConfig;
import org.catonnx.runtime.generate.Generator;
import org.catonnx.runtime.generate.TokenListener;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Greedy chunk-by-chunk generation reproduces the reference's gen.output token for token: step
 * loop, in-graph loop, and the in-graph loop with fused decoding (GroupQueryAttention).
 */
class GoldenGenerationTest {
    @ParameterizedTest(name = "{0} in-graph loop {1} fused {2}")
    @CsvSource({"cat_c4,false,false", "cat_c4,true,false", "cat_c4,true,true",
            "cat_c8_qknorm,false,false", "cat_c8_qknorm,true,false", "cat_c8_qknorm,true,true"})
    void reproducesReferenceGeneration(String name, boolean loop, boolean fused) throws Exception {
        try (ReferenceCase rc = ReferenceCase.open(GoldenCases.dir(name))) {
            TensorData prompt = rc.require("gen.prompt"), want = rc.require("gen.output");
            int b = (int) prompt.dim(0), n = (int) want.dim(1);
            List<long[]> prompts = prompt.toLongRows(), wanted = want.toLongRows();
            try (Generator gen = new Generator(rc.spec(), rc.spec().chunkSize(),
                    DecodeSessions.build(rc.spec(), rc.weights(), rc.spec().chunkSize(), GraphOptions.defaults().withFusedDecode(fused),
                            SessionConfig.defaults(), loop))) {
                List<long[]> out = gen.generate(prompts, GenerationConfig.greedy(n).withInGraphLoop(loop), TokenListener.NONE);
                for (int r = 0; r < b; r++) {
                    long[] expect = wanted.get(r);
                    int first = firstMismatch(expect, out.get(r));
                    System.out.println(name + (loop ? " (in-graph loop" + (fused ? ", fused)" : ")") : " (step loop)") + " row " + r + ": " + out.get(r).length + " tokens, first mismatch " + first);
                    assertArrayEquals(expect, out.get(r), name + " row " + r + " differs first at " + first);
                }
            }
        }
    }

    static int firstMismatch(long[] a, long[] b) {
        for (int i = 0; i < Math.min(a.length, b.length); i++) if (a[i] != b[i]) return i;
        return a.length == b.length ? -1 : Math.min(a.length, b.length);
    }
}
