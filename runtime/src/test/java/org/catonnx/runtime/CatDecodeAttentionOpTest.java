package org.catonnx.runtime;

import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.TensorData;
import org.catonnx.onnx.Value;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CatDecodeAttention (our decode-step operator) against ONNX Runtime's GroupQueryAttention on the
 * same inputs, in one graph: the attention output to 1e-5 in float32 (about 1e-3 in float16) and
 * the presents exactly (both write the new entry at slot seqlens[b] and leave the rest). Ragged
 * valid lengths per row (0, mid, last slot), grouped-query heads, head_dim 32/64/128. Tag gpu: the
 * CUDA kernel against the CPU kernel.
 */
class CatDecodeAttentionOpTest {
    static Map<String, TensorData> inputs(int b, int h, int hkv, int hd, int s, long seed) {
        Random r = new Random(seed);
        Map<String, TensorData> in = new HashMap<>();
        in.put("q", random(r, b, 1, h * hd));
        in.put("k", random(r, b, 1, hkv * hd));
        in.put("v", random(r, b, 1, hkv * hd));
        in.put("past_k", random(r, b, hkv, s, hd));
        in.put("past_v", random(r, b, hkv, s, hd));
        int[] lens = new int[b];
        for (int i = 0; i < b; i++) lens[i] = i == 0 ? 0 : i == b - 1 ? s - 1 : r.nextInt(s);
        in.put("seqlens", TensorData.ofInts(lens, b));
        return in;
    }

    static TensorData random(Random r, long... shape) {
        int n = 1;
        for (long d : shape) n *= (int) d;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextGaussian();
        return TensorData.ofFloats(x, shape);
    }

    /** custom.* and gqa.* outputs from float32 inputs cast to type (withGqa false: the custom op alone). */
    static byte[] graph(int b, int h, int hkv, int hd, int s, DType type, boolean withGqa) {
        Graph g = Graph.create("cat_decode_op");
        Value q = g.input("q", DType.FLOAT, b, 1, h * hd), k = g.input("k", DType.FLOAT, b, 1, hkv * hd),
                v = g.input("v", DType.FLOAT, b, 1, hkv * hd), pk = g.input("past_k", DType.FLOAT, b, hkv, s, hd),
                pv = g.input("past_v", DType.FLOAT, b, hkv, s, hd);
        Value lens = g.input("seqlens", DType.INT32, b);
        if (type != DType.FLOAT) { q = g.cast(q, type); k = g.cast(k, type); v = g.cast(v, type); pk = g.cast(pk, type); pv = g.cast(pv, type); }
        float scale = (float) (1 / Math.sqrt(hd));
        String[] names = {"y", "present_k", "present_v"};
        Value[] c = g.catDecodeAttention(q, k, v, pk, pv, lens, h, hkv, scale);
        for (int i = 0; i < 3; i++) g.output("custom." + names[i], g.cast(c[i], DType.FLOAT));
        if (withGqa) {
            Value total = g.constant(TensorData.ofInts(new int[] {s}, 1));
            Value[] r = g.groupQueryAttention(q, k, v, pk, pv, lens, total, h, hkv, scale);
            for (int i = 0; i < 3; i++) g.output("gqa." + names[i], g.cast(r[i], DType.FLOAT));
        }
        return new OnnxModel(g).toBytes();
    }

    @ParameterizedTest(name = "B{0} H{1} Hkv{2} hd{3} S{4} {5}")
    @CsvSource({"3,4,4,32,10,FLOAT", "3,4,2,64,10,FLOAT", "4,8,1,64,17,FLOAT", "2,2,2,128,6,FLOAT", "1,4,2,64,1,FLOAT",
            "3,4,2,64,10,FLOAT16"})
    void equalsGroupQueryAttention(int b, int h, int hkv, int hd, int s, String type) {
        Assumptions.assumeTrue(CustomOps.cpuAvailable(), "native ops not built (-Dcatonnx.native.skip=true)");
        DType t = DType.valueOf(type);
        Map<String, TensorData> out, in = inputs(b, h, hkv, hd, s, 7);
        try (ModelSession ms = OrtRuntime.get().open(graph(b, h, hkv, hd, s, t, true), CustomOps.register(SessionConfig.defaults()))) {
            out = ms.run(in);
        }
        float tol = t == DType.FLOAT ? 1e-5f : 2e-3f;
        assertArrayEquals(out.get("gqa.y").toFloats(), out.get("custom.y").toFloats(), tol, "attention output");
        // slots 0..n agree exactly; past them GroupQueryAttention zero-fills an unshared present, ours keeps past
        long[] lens = in.get("seqlens").toLongs();
        for (String part : new String[] {"present_k", "present_v"}) {
            float[] g = out.get("gqa." + part).toFloats(), c = out.get("custom." + part).toFloats();
            float[] past = in.get(part.replace("present", "past")).toFloats();
            for (int row = 0; row < b * hkv; row++) {
                long n = lens[row / hkv];
                for (int slot = 0; slot < s; slot++) {
                    for (int d = 0; d < hd; d++) {
                        int i = (row * s + slot) * hd + d;
                        if (slot <= n) assertEquals(g[i], c[i], 0f, part + " row " + row + " slot " + slot);
                        else assertEquals(t == DType.FLOAT ? past[i] : c[i], c[i], 0f, part + " keeps past at slot " + slot);
                    }
                }
            }
        }
    }

    @Tag("gpu")
    @ParameterizedTest(name = "CUDA B{0} H{1} Hkv{2} hd{3} S{4} {5}")
    @CsvSource({"3,4,4,32,10,FLOAT", "3,4,2,64,10,FLOAT", "4,8,1,64,17,FLOAT", "2,2,2,128,300,FLOAT", "64,24,24,64,266,BFLOAT16",
            "5,8,2,128,2048,FLOAT16"})
    void cudaKernelEqualsCpuKernel(int b, int h, int hkv, int hd, int s, String type) {
        Assumptions.assumeTrue(OrtRuntime.cudaAvailable() && CustomOps.cudaLibrary().isPresent(), "no CUDA provider or CUDA library");
        DType t = DType.valueOf(type);
        byte[] model = graph(b, h, hkv, hd, s, t, false);
        Map<String, TensorData> in = inputs(b, h, hkv, hd, s, 11);
        Map<String, TensorData> cpu, gpu;
        try (ModelSession ms = OrtRuntime.get().open(model, CustomOps.register(SessionConfig.defaults()))) {
            cpu = ms.run(in);
        }
        try (ModelSession ms = OrtRuntime.get().open(model, CustomOps.register(SessionConfig.defaults().withDevice(Device.CUDA)))) {
            gpu = ms.run(in);
        }
        float[] want = cpu.get("custom.y").toFloats(), got = gpu.get("custom.y").toFloats();
        double worst = 0;
        for (int i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]) / Math.max(1.0, Math.abs(want[i])));
        double tol = t == DType.FLOAT ? 1e-5 : t == DType.FLOAT16 ? 2e-3 : 2e-2;
        System.out.printf("CatDecodeAttention CUDA vs CPU %s B%d H%d Hkv%d hd%d S%d: max error %.2e%n", t, b, h, hkv, hd, s, worst);
        assertTrue(worst <= tol, "max error " + worst + " > " + tol);
        assertArrayEquals(cpu.get("custom.present_k").toFloats(), gpu.get("custom.present_k").toFloats(), 0f);
        assertArrayEquals(cpu.get("custom.present_v").toFloats(), gpu.get("custom.present_v").toFloats(), 0f);
    }
}
