package org.catonnx.runtime;

import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.Shape;
import org.catonnx.onnx.TensorData;
import org.catonnx.onnx.Value;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SwiGlu (our op) against the graph it replaces, Mul(Mul(gate, Sigmoid(gate)), up) over the Split
 * halves, in one graph: float32 to 1e-6; float16 against that graph in float32 on the same float16
 * inputs, so both sides round once (within 1e-3), errors relative to max(1, |gate * up|). Tag gpu: the CUDA kernel against the CPU kernel.
 */
class SwiGluOpTest {
    static TensorData random(long seed, long... shape) {
        Random r = new Random(seed);
        int n = 1;
        for (long d : shape) n *= (int) d;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (2 * r.nextGaussian());
        return TensorData.ofFloats(x, shape);
    }

    /** custom: SwiGlu in type; with reference, ref: the unfused graph in float32 on the same (type-rounded) inputs. */
    static byte[] graph(long[] shape, DType type, boolean reference) {
        Graph g = Graph.create("swiglu_op");
        Value x = g.input("x", DType.FLOAT, Shape.ofStatic(shape));
        Value xt = type == DType.FLOAT ? x : g.cast(x, type);
        g.output("custom", g.cast(g.swiGlu(xt), DType.FLOAT));
        if (reference) {
            Value[] halves = g.splitEqual(type == DType.FLOAT ? x : g.cast(xt, DType.FLOAT), -1, 2);
            g.output("ref", g.mul(g.mul(halves[0], g.sigmoid(halves[0])), halves[1]));
        }
        return new OnnxModel(g).toBytes();
    }

    static long[] shape(String dims) {
        return Arrays.stream(dims.split("x")).mapToLong(Long::parseLong).toArray();
    }

    /**
     * |want - got| <= tol * max(1, |gate * up|) per element: the sigmoid's error (ONNX Runtime's is an
     * approximation) reaches y scaled by gate * up, however small sigmoid(gate) makes y.
     */
    static void assertClose(float[] x, long f, float[] want, float[] got, double tol, String what) {
        assertTrue(want.length == got.length && want.length > 0 && want.length * 2L == x.length, what + ": lengths " + want.length + " vs " + got.length);
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            long row = i / f, j = i % f;
            double scale = Math.max(1.0, Math.abs((double) x[(int) (row * 2 * f + j)] * x[(int) (row * 2 * f + f + j)]));
            worst = Math.max(worst, Math.abs(want[i] - got[i]) / scale);
        }
        assertTrue(worst <= tol, what + ": max error " + worst + " > " + tol);
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"4x16,FLOAT", "3x1x2048,FLOAT", "5x1x6,FLOAT", "7x2,FLOAT", "2x3x40,FLOAT", "1x1x5632,FLOAT",
            "3x1x2048,FLOAT16", "5x1x6,FLOAT16", "4x16,FLOAT16"})
    void equalsSplitSigmoidMul(String dims, String type) {
        Assumptions.assumeTrue(CustomOps.cpuAvailable(), "native ops not built (-Dcatonnx.native.skip=true)");
        DType t = DType.valueOf(type);
        long[] s = shape(dims);
        Map<String, TensorData> out;
        TensorData x = random(3, s);
        try (ModelSession ms = OrtRuntime.get().open(graph(s, t, true), CustomOps.register(SessionConfig.defaults()))) {
            out = ms.run(Map.of("x", x));
        }
        long[] ys = s.clone();
        ys[ys.length - 1] /= 2;
        assertArrayEquals(ys, out.get("custom").shape(), "output shape");
        assertClose(x.toFloats(), ys[ys.length - 1], out.get("ref").toFloats(), out.get("custom").toFloats(), t == DType.FLOAT ? 1e-6 : 1e-3,
                "SwiGlu " + type + " " + dims);
    }

    @Test
    void oddLastDimFailsClearly() {
        Assumptions.assumeTrue(CustomOps.cpuAvailable(), "native ops not built (-Dcatonnx.native.skip=true)");
        // the builder refuses a static odd dim, so the width is symbolic here and only the kernel sees it
        Graph g = Graph.create("swiglu_odd");
        g.output("y", g.swiGlu(g.input("x", DType.FLOAT, 2, "w")));
        RuntimeException e = assertThrows(RuntimeException.class, () -> {
            try (ModelSession ms = OrtRuntime.get().open(new OnnxModel(g).toBytes(), CustomOps.register(SessionConfig.defaults()))) {
                ms.run(Map.of("x", random(1, 2, 7)));
            }
        });
        assertTrue(String.valueOf(e.getMessage()).contains("SwiGlu: the last dim must be even (gate | up), got 7"), e.getMessage());
    }

    @Tag("gpu")
    @ParameterizedTest(name = "CUDA {0} {1}")
    @CsvSource({"4x16,FLOAT", "3x1x2048,FLOAT", "5x1x6,FLOAT", "64x1x11264,FLOAT", "3x1x2048,FLOAT16", "5x1x6,FLOAT16",
            "64x1x11264,FLOAT16", "3x1x2048,BFLOAT16", "7x2,BFLOAT16", "64x1x11264,BFLOAT16"})
    void cudaKernelEqualsCpuKernel(String dims, String type) {
        Assumptions.assumeTrue(OrtRuntime.cudaAvailable() && CustomOps.cudaLibrary().isPresent(), "no CUDA provider or CUDA library");
        DType t = DType.valueOf(type);
        long[] s = shape(dims);
        byte[] model = graph(s, t, false);
        TensorData x = random(5, s);
        Map<String, TensorData> in = Map.of("x", x), cpu, gpu;
        try (ModelSession ms = OrtRuntime.get().open(model, CustomOps.register(SessionConfig.defaults()))) {
            cpu = ms.run(in);
        }
        try (ModelSession ms = OrtRuntime.get().open(model, CustomOps.register(SessionConfig.defaults().withDevice(Device.CUDA)))) {
            gpu = ms.run(in);
        }
        // float32: both compute in float (exp may differ by an ulp or two); half types: at most one rounding apart
        assertClose(x.toFloats(), s[s.length - 1] / 2, cpu.get("custom").toFloats(), gpu.get("custom").toFloats(),
                t == DType.FLOAT ? 1e-6 : t == DType.FLOAT16 ? 1e-3 : 8e-3, "SwiGlu CUDA vs CPU " + type + " " + dims);
    }
}
