package org.catonnx.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.catonnx.exporter.reference.ReferenceCase;
import org.catonnx.nn.GraphOptions;
import org.catonnx.nn.AttentionForm;
import org.catonnx.nn.BuildContext;
import org.catonnx.nn.CatAttention;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.TensorData;
import org.catonnx.onnx.Value;
import org.catonnx.nn.WeightSource;
import org.catonnx.runtime.golden.GoldenCases;
import org.catonnx.runtime.verify.Check;
import org.catonnx.runtime.verify.ReferenceVerifier;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The native CatAttention operator (issue 8): CPU kernel against the portable attention forms and
 * a plain Java reference, the whole model with the operator against the golden logits, and
 * (tag "gpu") the CUDA kernel against the CPU kernel.
 */
class CatAttentionOpTest {
    private static final OrtRuntime ORT = OrtRuntime.get();

    /** One attention problem: shapes, block length and random inputs. */
    record Case(int b, int h, int hkv, int blocks, int s, int hd, long seed) {
        int n() { return blocks * s; }
        float scale() { return (float) (1.0 / Math.sqrt(hd)); }
        @Override public String toString() {
            return "B" + b + " H" + h + "/" + hkv + " S" + s + " K1=" + blocks + " N" + n() + " hd" + hd;
        }
        TensorData q() { return random(new long[] {b, h, n(), hd}, seed, 1.5); }
        TensorData k() { return random(new long[] {b, hkv, n(), hd}, seed + 1, 1.5); }
        TensorData v() { return random(new long[] {b, hkv, n(), hd}, seed + 2, 1.0); }
        Map<String, TensorData> feeds() { return Map.of("q", q(), "k", k(), "v", v()); }
    }

    static TensorData random(long[] shape, long seed, double sigma) {
        Random r = new Random(seed);
        float[] x = new float[(int) TensorData.numElements(shape)];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * sigma);
        return TensorData.ofFloats(x, shape);
    }

    static Path cpuLib() {
        Assumptions.assumeTrue(CustomOps.cpuAvailable(), "native ops not built (Linux x86-64 only; -Dcatonnx.native.skip=true)");
        return CustomOps.cpuLibrary();
    }

    // ---------------------------------------------------------------- graphs

    /** y = CatAttention(cast(q), cast(k), cast(v)) back in float32; inputs are float32. */
    static byte[] customGraph(Case c, DType type) {
        Graph g = Graph.create("cat_attention_op");
        Value q = g.input("q", DType.FLOAT, (long) c.b, (long) c.h, (long) c.n(), (long) c.hd);
        Value k = g.input("k", DType.FLOAT, (long) c.b, (long) c.hkv, (long) c.n(), (long) c.hd);
        Value v = g.input("v", DType.FLOAT, (long) c.b, (long) c.hkv, (long) c.n(), (long) c.hd);
        if (type != DType.FLOAT) { q = g.cast(q, type); k = g.cast(k, type); v = g.cast(v, type); }
        Value y = g.catAttention(q, k, v, c.s, c.scale());
        if (type != DType.FLOAT) y = g.cast(y, DType.FLOAT);
        g.output("y", y);
        return new OnnxModel(g).toBytes();
    }

    /** The op ("custom") next to the portable form ("portable") on the same inputs, one graph. */
    static byte[] comparisonGraph(Case c, AttentionForm portable) {
        Graph g = Graph.create("cat_attention_compare");
        Value q = g.input("q", DType.FLOAT, (long) c.b, (long) c.h, (long) c.n(), (long) c.hd);
        Value k = g.input("k", DType.FLOAT, (long) c.b, (long) c.hkv, (long) c.n(), (long) c.hd);
        Value v = g.input("v", DType.FLOAT, (long) c.b, (long) c.hkv, (long) c.n(), (long) c.hd);
        g.output("custom", g.catAttention(q, k, v, c.s, c.scale()));
        BuildContext ctx = new BuildContext(g, WeightSource.of(Map.of()), DType.FLOAT, portable);
        Value y5 = new CatAttention(portable).attend(ctx, g.reshape(q, 0, 0, c.blocks, c.s, c.hd),
                g.reshape(k, 0, 0, c.blocks, c.s, c.hd), g.reshape(v, 0, 0, c.blocks, c.s, c.hd));
        g.output("portable", g.reshape(y5, 0, 0, c.n(), c.hd));
        return new OnnxModel(g).toBytes();
    }

    /** Plain Java, double precision, straight from the mask definition (CAT.md section 3). */
    static double[] reference(Case c, float[] q, float[] k, float[] v) {
        int n = c.n(), hd = c.hd, rep = c.h / c.hkv;
        double[] y = new double[q.length];
        double[] w = new double[n];
        for (int b = 0; b < c.b; b++) {
            for (int h = 0; h < c.h; h++) {
                int qo = (b * c.h + h) * n * hd, ko = (b * c.hkv + h / rep) * n * hd;
                for (int i = 0; i < n; i++) {
                    double mx = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) {
                        boolean allowed = j <= i && (j / c.s == i / c.s || j % c.s == 0);
                        if (!allowed) { w[j] = Double.NaN; continue; }
                        double dot = 0;
                        for (int d = 0; d < hd; d++) dot += (double) q[qo + i * hd + d] * k[ko + j * hd + d];
                        w[j] = dot * c.scale();
                        mx = Math.max(mx, w[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) if (!Double.isNaN(w[j])) { w[j] = Math.exp(w[j] - mx); sum += w[j]; }
                    for (int j = 0; j < n; j++) {
                        if (Double.isNaN(w[j])) continue;
                        for (int d = 0; d < hd; d++) y[qo + i * hd + d] += w[j] / sum * v[ko + j * hd + d];
                    }
                }
            }
        }
        return y;
    }

    static double maxAbs(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]));
        return m;
    }

    static double maxAbs(float[] a, double[] b) {
        assertEquals(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    /** max |a-b| / max(1, |b|): relative for large values, absolute near zero. */
    static double maxRel(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs((double) a[i] - b[i]) / Math.max(1.0, Math.abs(b[i])));
        return m;
    }

    static float[] roundTrip(float[] x, DType type) {
        return TensorData.ofFloats(x, x.length).castTo(type).castTo(DType.FLOAT).toFloats();
    }

    // ---------------------------------------------------------------- CPU kernel

    static Stream<Arguments> portableCases() {
        List<Arguments> out = new ArrayList<>();
        long seed = 1;
        for (int chunk : new int[] {1, 2, 4, 8, 16, 32}) {
            for (int blocks = 1; blocks <= 5; blocks++) {
                int s = chunk + 1 + (blocks == 3 ? 1 : 0);  // K1=3 uses adaptive CAT's S = chunk+2
                out.add(Arguments.of(new Case(2, 4, 2, blocks, s, 16, seed++)));
            }
        }
        out.add(Arguments.of(new Case(2, 4, 4, 4, 9, 32, 100)));   // no grouping
        out.add(Arguments.of(new Case(1, 4, 1, 3, 5, 64, 101)));   // one kv head
        out.add(Arguments.of(new Case(3, 2, 2, 5, 17, 128, 102))); // head_dim 128
        out.add(Arguments.of(new Case(1, 2, 1, 2, 3, 80, 103)));   // head_dim not a multiple of 32
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("portableCases")
    void cpuKernelMatchesPortableForms(Case c) {
        SessionConfig cfg = SessionConfig.defaults().withCustomOpLibrary(cpuLib());
        Map<String, TensorData> feeds = c.feeds();
        for (AttentionForm form : new AttentionForm[] {AttentionForm.EFFICIENT, AttentionForm.MASKED}) {
            try (ModelSession s = ORT.open(comparisonGraph(c, form), cfg)) {
                Map<String, TensorData> out = s.run(feeds);
                double err = maxAbs(out.get("custom").toFloats(), out.get("portable").toFloats());
                System.out.printf("CatAttention CPU vs %s %s: max abs %.3g%n", form, c, err);
                assertTrue(err <= 1e-5, c + " vs " + form + ": max abs error " + err);
            }
        }
        // and against the definition, in double precision
        try (ModelSession s = ORT.open(customGraph(c, DType.FLOAT), cfg)) {
            float[] y = s.run(feeds).get("y").toFloats();
            double err = maxAbs(y, reference(c, feeds.get("q").toFloats(), feeds.get("k").toFloats(), feeds.get("v").toFloats()));
            System.out.printf("CatAttention CPU vs Java reference %s: max abs %.3g%n", c, err);
            assertTrue(err <= 1e-5, c + " vs reference: " + err);
        }
    }

    @Test
    void cpuKernelHalfAndBfloat16() {
        Case c = new Case(2, 4, 2, 4, 9, 64, 7);
        SessionConfig cfg = SessionConfig.defaults().withCustomOpLibrary(cpuLib());
        Map<String, TensorData> feeds = c.feeds();
        // tolerances: output rounding (half an ulp: 2^-11 fp16, 2^-8 bf16 relative) plus the inputs' rounding
        // inside the kernel's float32 accumulation is already in the rounded inputs below
        for (DType t : new DType[] {DType.FLOAT16, DType.BFLOAT16}) {
            double tol = t == DType.FLOAT16 ? 1e-3 : 8e-3;
            try (ModelSession s = ORT.open(customGraph(c, t), cfg)) {
                float[] y = s.run(feeds).get("y").toFloats();
                double[] ref = reference(c, roundTrip(feeds.get("q").toFloats(), t), roundTrip(feeds.get("k").toFloats(), t),
                        roundTrip(feeds.get("v").toFloats(), t));
                double m = 0;
                for (int i = 0; i < y.length; i++) m = Math.max(m, Math.abs(y[i] - ref[i]) / Math.max(1.0, Math.abs(ref[i])));
                System.out.printf("CatAttention CPU %s vs Java reference on rounded inputs %s: max rel %.3g (tol %.1g)%n", t, c, m, tol);
                assertTrue(m <= tol, t + ": " + m);
            }
        }
    }

    @Test
    void lengthNotAMultipleOfTheBlock() {
        // the mask is defined for any N; the graph side always pads to whole blocks, the kernel need not
        Case c = new Case(1, 2, 1, 3, 5, 16, 11);
        int n = 13;
        Graph g = Graph.create("ragged");
        Value q = g.input("q", DType.FLOAT, 1L, 2L, (long) n, 16L);
        Value k = g.input("k", DType.FLOAT, 1L, 1L, (long) n, 16L);
        Value v = g.input("v", DType.FLOAT, 1L, 1L, (long) n, 16L);
        g.output("y", g.catAttention(q, k, v, c.s, c.scale()));
        TensorData tq = random(new long[] {1, 2, n, 16}, 1, 1.5), tk = random(new long[] {1, 1, n, 16}, 2, 1.5),
                tv = random(new long[] {1, 1, n, 16}, 3, 1);
        try (ModelSession s = ORT.open(new OnnxModel(g).toBytes(), SessionConfig.defaults().withCustomOpLibrary(cpuLib()))) {
            float[] y = s.run(Map.of("q", tq, "k", tk, "v", tv)).get("y").toFloats();
            // the first 13 positions of a 15-position problem do not depend on positions 13, 14
            Case full = new Case(1, 2, 1, 3, 5, 16, 0);
            float[] fq = pad(tq.toFloats(), 2, n, 15, 16), fk = pad(tk.toFloats(), 1, n, 15, 16), fv = pad(tv.toFloats(), 1, n, 15, 16);
            double[] ref = reference(full, fq, fk, fv);
            double m = 0;
            for (int h = 0; h < 2; h++)
                for (int i = 0; i < n * 16; i++) m = Math.max(m, Math.abs(y[h * n * 16 + i] - ref[h * 15 * 16 + i]));
            assertTrue(m <= 1e-5, "ragged: " + m);
        }
    }

    private static float[] pad(float[] x, int heads, int n, int n2, int hd) {
        float[] out = new float[heads * n2 * hd];
        for (int h = 0; h < heads; h++) System.arraycopy(x, h * n * hd, out, h * n2 * hd, n * hd);
        return out;
    }

    // ---------------------------------------------------------------- whole models

    static Stream<String> goldenCases() {
        return GoldenCases.ALL.stream().filter(n -> !n.equals("transformer"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldenCases")
    void goldenModelsWithTheOperator(String name) throws Exception {
        SessionConfig cfg = SessionConfig.defaults().withCustomOpLibrary(cpuLib());
        try (ReferenceCase rc = ReferenceCase.open(GoldenCases.dir(name))) {
            List<Check> checks = new ReferenceVerifier(GraphOptions.defaults().withAttentionForm(AttentionForm.CUSTOM), cfg, s -> { })
                    .verify(rc);
            assertTrue(!checks.isEmpty(), name + ": nothing checked");
            for (Check ch : checks) {
                System.out.println(name + " [CUSTOM, CPU] " + ch);
                assertTrue(ch.passed(), name + ": " + ch);
            }
        }
    }

    @Test
    void customOpsLibraryLookup() {
        Path p = cpuLib();
        assertTrue(p.getFileName().toString().equals(CustomOps.CPU_LIBRARY), p.toString());
        assertEquals(p, CustomOps.cpuLibrary(), "extracted once per JVM");
        assertEquals(p, CustomOps.libraryFor(Device.CPU));
    }

    // ---------------------------------------------------------------- CUDA kernel (tag gpu)

    static Stream<Arguments> gpuCases() {
        return Stream.of(
                Arguments.of(new Case(2, 4, 2, 5, 2, 16, 201)),
                Arguments.of(new Case(2, 4, 2, 5, 9, 64, 202)),
                Arguments.of(new Case(1, 8, 2, 12, 17, 128, 203)),
                Arguments.of(new Case(2, 4, 4, 7, 33, 80, 204)),
                Arguments.of(new Case(1, 2, 1, 40, 10, 32, 205)),
                Arguments.of(new Case(2, 16, 4, 64, 17, 128, 206)),   // N = 1088
                Arguments.of(new Case(1, 4, 1, 3, 1, 8, 207)));       // S = 1: every key is a block start
    }

    private static Path cudaLib() {
        Assumptions.assumeTrue(OrtRuntime.cudaAvailable(), "no CUDA provider");
        return CustomOps.cudaLibrary().orElseThrow(() -> new IllegalStateException("libcatonnx_ops_cuda.so not built"));
    }

    @Tag("gpu")
    @ParameterizedTest(name = "{0}")
    @MethodSource("gpuCases")
    void cudaKernelMatchesCpuKernel(Case c) {
        Path lib = cudaLib();
        SessionConfig cuda = SessionConfig.defaults().withDevice(Device.CUDA).withDisableCpuFallback(true).withCustomOpLibrary(lib);
        SessionConfig cpu = SessionConfig.defaults().withCustomOpLibrary(lib);  // the same library's CPU kernel
        Map<String, TensorData> feeds = c.feeds();
        for (DType t : new DType[] {DType.FLOAT, DType.FLOAT16, DType.BFLOAT16}) {
            // fp32: both accumulate in float32 (CPU in double); fp16/bf16: one output rounding apart at most,
            // plus float32 summation order: 2 ulps of the type, relative
            double tol = t == DType.FLOAT ? 1e-5 : t == DType.FLOAT16 ? 2e-3 : 1.6e-2;
            byte[] model = customGraph(c, t);
            float[] want, got;
            try (ModelSession s = ORT.open(model, cpu)) { want = s.run(feeds).get("y").toFloats(); }
            try (ModelSession s = ORT.open(model, cuda)) {
                assertEquals(OrtRuntime.CUDA_PROVIDER, s.provider());
                got = s.run(feeds).get("y").toFloats();
                if (c.n() >= 1000) System.out.printf("CatAttention CUDA %s %s: %.3f ms per run (inputs and output through host memory)%n",
                        t, c, timeRuns(s, feeds));
            }
            double err = maxRel(got, want);
            System.out.printf("CatAttention CUDA vs CPU %s %s: max rel %.3g (tol %.1g)%n", t, c, err, tol);
            assertTrue(err <= tol, t + " " + c + ": " + err);
        }
    }

    private static double timeRuns(ModelSession s, Map<String, TensorData> feeds) {
        return timeRuns(s, feeds, s.outputs().keySet());
    }

    private static double timeRuns(ModelSession s, Map<String, TensorData> feeds, java.util.Set<String> wanted) {
        for (int i = 0; i < 3; i++) s.run(feeds, wanted);
        int n = 20;
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) s.run(feeds, wanted);
        return (System.nanoTime() - t0) / 1e6 / n;
    }

    /** Timing only: the portable EFFICIENT form on CUDA for the same large case (fp32, TF32 off). */
    @Tag("gpu")
    @Test
    void portableFormOnCudaForComparison() {
        Path lib = cudaLib();
        Case c = new Case(2, 16, 4, 64, 17, 128, 206);
        SessionConfig cuda = SessionConfig.defaults().withDevice(Device.CUDA).withCustomOpLibrary(lib);
        try (ModelSession s = ORT.open(comparisonGraph(c, AttentionForm.EFFICIENT), cuda)) {
            Map<String, TensorData> out = s.run(c.feeds());
            double err = maxRel(out.get("custom").toFloats(), out.get("portable").toFloats());
            System.out.printf("CUDA fp32 %s: op vs EFFICIENT max rel %.3g; op %.3f ms, EFFICIENT %.3f ms per run (host I/O included)%n",
                    c, err, timeRuns(s, c.feeds(), java.util.Set.of("custom")), timeRuns(s, c.feeds(), java.util.Set.of("portable")));
            assertTrue(err <= 1e-4, "op vs portable on CUDA: " + err);
        }
    }

    @Tag("gpu")
    @Test
    void goldenModelOnCuda() throws Exception {
        Path lib = cudaLib();
        SessionConfig cfg = SessionConfig.defaults().withDevice(Device.CUDA).withCustomOpLibrary(lib);
        for (String name : List.of("cat_c4", "cat_adaptive_c8")) {
            try (ReferenceCase rc = ReferenceCase.open(GoldenCases.dir(name))) {
                for (Check ch : new ReferenceVerifier(GraphOptions.defaults().withAttentionForm(AttentionForm.CUSTOM), cfg, s -> { })
                        .verify(rc)) {
                    System.out.println(name + " [CUSTOM, CUDA] " + ch);
                    assertTrue(ch.passed(), name + ": " + ch);
                }
            }
        }
    }
}
