package org.catonnx.runtime.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.catonnx.graphs.AttentionBenchGraphs;
import org.catonnx.graphs.AttentionBenchGraphs.Form;
import org.catonnx.graphs.AttentionBenchGraphs.Problem;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.TensorData;
import org.catonnx.runtime.CustomOps;
import org.catonnx.runtime.InferenceException;
import org.catonnx.runtime.ModelSession;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.SessionConfig;
import org.junit.jupiter.api.Test;

/**
 * The attention benchmark's graphs on the CPU: every CAT form computes the same attention from the
 * same generated inputs, dense attention is CAT with a single block, the Loop runs R times, and
 * the cost model counts the mask's pairs exactly. Custom-op cases need the CPU library.
 */
class AttentionOpBenchmarkTest {
    private static final SessionConfig CPU = SessionConfig.defaults();

    /** The forms whose graphs can run here: custom only when the CPU library was built. */
    static List<Form> catForms() {
        List<Form> f = new ArrayList<>(List.of(Form.EFFICIENT, Form.MASKED));
        if (CustomOps.cpuAvailable()) f.add(Form.CUSTOM);
        return f;
    }

    static SessionConfig config(Form f) {
        return f == Form.CUSTOM ? CPU.withCustomOpLibrary(CustomOps.cpuLibrary()) : CPU;
    }

    /** Outputs of one run with R repetitions, the full result included. */
    static Map<String, TensorData> run(Problem p, Form f, long reps) {
        return run(p, f, reps, true);
    }

    /** Outputs of one run with R repetitions; withOutput: the full result too, else the benchmark's graph. */
    static Map<String, TensorData> run(Problem p, Form f, long reps, boolean withOutput) {
        byte[] model = new OnnxModel(AttentionBenchGraphs.build(p, f, DType.FLOAT, withOutput)).toBytes();
        try (ModelSession s = OrtRuntime.get().open(model, config(f))) {
            return s.run(Map.of(AttentionBenchGraphs.REPS, TensorData.ofLongs(new long[] {reps})));
        }
    }

    static double maxAbs(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }

    @Test
    void catFormsComputeTheSameAttention() {
        List<Form> forms = catForms();
        System.out.println("CAT forms compared: " + forms);
        for (int chunk = 1; chunk <= 8; chunk++) {
            Problem p = new Problem(2, 4, 2, 3 * chunk, chunk, 8);   // grouped heads, 3 blocks
            float[] want = run(p, Form.EFFICIENT, 1).get(AttentionBenchGraphs.OUTPUT).toFloats();
            double spread = 0;
            for (float x : want) spread = Math.max(spread, Math.abs(x));
            assertTrue(spread > 0.05 && spread <= 1, "values O(1): " + spread);
            for (Form f : forms) {
                Map<String, TensorData> out = run(p, f, 1);
                double err = maxAbs(out.get(AttentionBenchGraphs.OUTPUT).toFloats(), want);
                assertTrue(err <= 1e-5, f + " vs efficient, " + p + ": max abs " + err);
                assertEquals(sum(want), out.get(AttentionBenchGraphs.CHECKSUM).toFloats()[0], 1e-3, f + " checksum, " + p);
            }
        }
    }

    @Test
    void denseIsCatWithOneBlock() {
        // one block of S = L+1 positions is causal attention; the first L positions' inputs are the dense problem's
        int l = 12, heads = 4, hd = 8;
        float[] dense = run(new Problem(2, heads, heads, l, 0, hd), Form.DENSE, 1).get(AttentionBenchGraphs.OUTPUT).toFloats();
        float[] cat = run(new Problem(2, heads, heads, l, l, hd), Form.MASKED, 1).get(AttentionBenchGraphs.OUTPUT).toFloats();
        float[] head = new float[dense.length];
        for (int bh = 0; bh < 2 * heads; bh++) System.arraycopy(cat, bh * (l + 1) * hd, head, bh * l * hd, l * hd);
        assertTrue(maxAbs(dense, head) <= 1e-5, "dense vs single-block CAT: " + maxAbs(dense, head));
    }

    @Test
    void theLoopRepeatsTheAttention() {
        Problem p = new Problem(1, 2, 2, 8, 4, 8);
        for (Form f : List.of(Form.EFFICIENT, Form.MASKED, Form.DENSE, Form.EMPTY)) {
            byte[] model = new OnnxModel(AttentionBenchGraphs.build(p, f, DType.FLOAT, false)).toBytes();
            try (ModelSession s = OrtRuntime.get().open(model, CPU)) {
                float[] checksums = new float[4];
                for (int r = 0; r <= 3; r++) {
                    Map<String, TensorData> out = s.run(Map.of(AttentionBenchGraphs.REPS, TensorData.ofLongs(new long[] {r})));
                    assertEquals(r, out.get(AttentionBenchGraphs.ITERATIONS).toLongs()[0], f + ": iterations for R = " + r);
                    checksums[r] = out.get(AttentionBenchGraphs.CHECKSUM).toFloats()[0];
                }
                assertEquals(checksums[1], checksums[3], f + ": every iteration computes the same result");
                if (f != Form.EMPTY) assertNotEquals(checksums[0], checksums[1], f + ": R = 0 leaves q, R = 1 is the attention");
            }
        }
    }

    @Test
    void theBenchChecksumIsEachHeadsLastElement() {
        Problem p = new Problem(2, 4, 2, 12, 4, 8);
        for (Form f : catForms()) {
            float[] y = run(p, f, 1).get(AttentionBenchGraphs.OUTPUT).toFloats();
            int perHead = y.length / (p.batch() * p.heads());
            double want = 0;
            for (int bh = 0; bh < p.batch() * p.heads(); bh++) want += y[(bh + 1) * perHead - 1];
            float got = run(p, f, 1, false).get(AttentionBenchGraphs.CHECKSUM).toFloats()[0];
            assertEquals(want, got, 1e-5, f + " checksum, " + p);
        }
    }

    @Test
    void catPairsFollowTheMask() {
        for (int blocks = 1; blocks <= 6; blocks++) {
            for (int s = 1; s <= 9; s++) {
                long n = (long) blocks * s, count = 0;
                for (long i = 0; i < n; i++) for (long j = 0; j <= i; j++) if (j / s == i / s || j % s == 0) count++;
                assertEquals(count, AttentionCost.catPairs(blocks, s), "K1 " + blocks + " S " + s);
            }
        }
        assertEquals(AttentionCost.causalPairs(7), AttentionCost.catPairs(1, 7), "one block is causal");
        Problem p = new Problem(8, 12, 12, 2048, 4, 128);
        AttentionCost cat = AttentionCost.of(p, Form.CUSTOM, 2), dense = AttentionCost.of(p, Form.DENSE, 2);
        assertEquals(4L * 8 * 12 * 2560 * 128 * 2, cat.bytes());         // q, k, v, y over N = 512 * 5
        assertEquals(4.0 * 128 * AttentionCost.causalPairs(2048) * 8 * 12, dense.flops());
        assertEquals(dense.bytes() / 4.3e12, dense.rooflineSeconds(4.3e12, 1e30));
    }

    @Test
    void failuresAreReportedWithTheirReason() {
        String oom = AttentionOpBenchmark.reason(new InferenceException("running <model> failed: Error Code : 6 - Non-zero status code "
                + "returned while running MatMul node. Failed to allocate memory for requested buffer of size 322122547200", null));
        assertEquals("out of memory (could not allocate a 300.0 GiB buffer)", oom);
        assertEquals("out of memory (CUDA failure 2: out of memory ; GPU=0)", AttentionOpBenchmark.reason(new InferenceException(
                "running <model> failed: Non-zero status code returned while running Loop node. Name:'/Loop_1' Status Message: "
                        + "Non-zero status code returned while running Softmax node. Status Message: CUDA failure 2: out of memory ; GPU=0", null)));
        assertEquals("failed (something else)", AttentionOpBenchmark.reason(new InferenceException("something else\nmore", null)));
    }

    private static float sum(float[] x) {
        double s = 0;
        for (float v : x) s += v;
        return (float) s;
    }
}
