package org.catonnx.runtime;

import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.TensorData;
import org.catonnx.onnx.Value;
import ai.onnx.proto.OnnxMl;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CatDecodeAttention (our decode-step operator) against ONNX Runtime's GroupQueryAttention on the
 * same inputs, in one graph: the attention output to 1e-5 in float32 (about 1e-3 in float16) and
 * the presents exactly (both write the new entry at slot seqlens[b] and leave the rest). Ragged
 * valid lengths per row (0, mid, last slot), grouped-query heads, head_dim 32/64/128. The fused
 * forms (packed q|k|v, rotary inside) against the unfused graph (Split, com.microsoft
 * RotaryEmbedding, the 6-input op), and their errors. Tag gpu: the CUDA kernel against the CPU kernel.
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

    // ---------------------------------------------------------------- fused forms: packed q|k|v, rotary inside

    /** PACKED: q|k|v in one input, no rotary; PACKED_ROTARY: and cos/sin; UNPACKED_ROTARY: separate q, k, v with cos/sin. */
    enum Form { PACKED, PACKED_ROTARY, UNPACKED_ROTARY }

    static final int MAX_POSITION = 40;

    /** inputs() plus qkv (packed), position int64 [npos] in [0, MAX_POSITION), cos/sin [MAX_POSITION, r/2] (angle tables). */
    static Map<String, TensorData> fusedInputs(int b, int h, int hkv, int hd, int s, int r, int npos, long seed) {
        Map<String, TensorData> in = inputs(b, h, hkv, hd, s, seed);
        in.put("qkv", TensorData.concat(2, in.remove("q"), in.remove("k"), in.remove("v")));
        if (r > 0) {
            Random rnd = new Random(seed + 1);
            long[] pos = new long[npos];
            for (int i = 0; i < npos; i++) pos[i] = rnd.nextInt(MAX_POSITION);
            in.put("position", TensorData.ofLongs(pos, npos));
            float[] cos = new float[MAX_POSITION * r / 2], sin = new float[cos.length];
            for (int p = 0; p < MAX_POSITION; p++) {
                for (int i = 0; i < r / 2; i++) {
                    double angle = p * Math.pow(10000, -2.0 * i / r);
                    cos[p * r / 2 + i] = (float) Math.cos(angle);
                    sin[p * r / 2 + i] = (float) Math.sin(angle);
                }
            }
            in.put("cos", TensorData.ofFloats(cos, MAX_POSITION, r / 2));
            in.put("sin", TensorData.ofFloats(sin, MAX_POSITION, r / 2));
        }
        return in;
    }

    /**
     * fused.* outputs: the fused form of CatDecodeAttention; with reference, ref.* too: Split, RotaryEmbedding on q and k
     * (position [B] as position_ids [B,1]), the 6-input op. Float32 inputs cast to type.
     */
    static Graph fusedGraph(Form form, int b, int h, int hkv, int hd, int s, int r, int npos, DType type, boolean reference) {
        Graph g = Graph.create("cat_decode_fused");
        long width = (long) (h + 2 * hkv) * hd;
        Value qkv = g.input("qkv", DType.FLOAT, b, 1, width), pk = g.input("past_k", DType.FLOAT, b, hkv, s, hd),
                pv = g.input("past_v", DType.FLOAT, b, hkv, s, hd), lens = g.input("seqlens", DType.INT32, b);
        Value pos = null, cos = null, sin = null;
        if (form != Form.PACKED) {
            pos = g.input("position", DType.INT64, npos);
            cos = g.input("cos", DType.FLOAT, MAX_POSITION, r / 2);
            sin = g.input("sin", DType.FLOAT, MAX_POSITION, r / 2);
        }
        if (type != DType.FLOAT) {
            qkv = g.cast(qkv, type); pk = g.cast(pk, type); pv = g.cast(pv, type);
            if (cos != null) { cos = g.cast(cos, type); sin = g.cast(sin, type); }
        }
        float scale = (float) (1 / Math.sqrt(hd));
        Value[] split = g.split(qkv, 2, (long) h * hd, (long) hkv * hd, (long) hkv * hd);
        Value[] fused = form == Form.UNPACKED_ROTARY
                ? g.catDecodeAttention(split[0], split[1], split[2], pk, pv, lens, pos, cos, sin, h, hkv, scale)
                : g.catDecodeAttention(qkv, pk, pv, lens, pos, cos, sin, h, hkv, scale);
        String[] names = {"y", "present_k", "present_v"};
        for (int i = 0; i < 3; i++) g.output("fused." + names[i], g.cast(fused[i], DType.FLOAT));
        if (reference) {
            Value q = split[0], k = split[1];
            if (form != Form.PACKED) {
                Value ids = npos == 1 ? pos : g.reshape(pos, b, 1);
                q = g.rotaryEmbedding(q, ids, cos, sin, h, r);
                k = g.rotaryEmbedding(k, ids, cos, sin, hkv, r);
            }
            Value[] ref = g.catDecodeAttention(q, k, split[2], pk, pv, lens, h, hkv, scale);
            for (int i = 0; i < 3; i++) g.output("ref." + names[i], g.cast(ref[i], DType.FLOAT));
        }
        return g;
    }

    /** One float16 rounding step at x: the spacing of float16 values around |x|. */
    static float halfUlp(float x) {
        float ax = Math.abs(x);
        return ax < 6.1035156e-5f ? 5.9604645e-8f : Math.scalb(1f, Math.getExponent(ax) - 10);
    }

    @ParameterizedTest(name = "{0} B{1} H{2} Hkv{3} hd{4} S{5} R{6} position[{7}] {8}")
    @CsvSource({"PACKED_ROTARY,3,8,2,64,10,64,3,FLOAT", "PACKED_ROTARY,3,8,2,128,10,32,1,FLOAT", "PACKED_ROTARY,4,4,4,32,17,16,4,FLOAT",
            "PACKED_ROTARY,2,8,2,32,5,32,1,FLOAT", "PACKED_ROTARY,3,8,2,64,10,48,3,FLOAT16", "PACKED_ROTARY,2,4,4,128,6,128,1,FLOAT16",
            "PACKED,3,8,2,64,10,0,0,FLOAT", "PACKED,3,4,4,32,10,0,0,FLOAT16",
            "UNPACKED_ROTARY,3,8,2,64,10,64,3,FLOAT", "UNPACKED_ROTARY,3,4,4,128,10,64,1,FLOAT16"})
    void fusedEqualsSplitRotaryAndUnfusedOp(Form form, int b, int h, int hkv, int hd, int s, int r, int npos, String type) {
        Assumptions.assumeTrue(CustomOps.cpuAvailable(), "native ops not built (-Dcatonnx.native.skip=true)");
        DType t = DType.valueOf(type);
        Map<String, TensorData> in = fusedInputs(b, h, hkv, hd, s, r, npos, 5), out;
        byte[] model = new OnnxModel(fusedGraph(form, b, h, hkv, hd, s, r, npos, t, true)).toBytes();
        try (ModelSession ms = OrtRuntime.get().open(model, CustomOps.register(SessionConfig.defaults()))) {
            out = ms.run(in);
        }
        assertArrayEquals(out.get("ref.y").toFloats(), out.get("fused.y").toFloats(), t == DType.FLOAT ? 1e-5f : 2e-3f, "attention output");
        for (String part : new String[] {"present_k", "present_v"}) {
            float[] want = out.get("ref." + part).toFloats(), got = out.get("fused." + part).toFloats();
            for (int i = 0; i < want.length; i++) {
                // RotaryEmbedding may fuse multiply-adds (float32) where we round each product: one rounding apart at most
                float tol = t == DType.FLOAT ? 1e-6f : halfUlp(want[i]);
                assertEquals(want[i], got[i], tol, part + " element " + i);
            }
        }
        // the rotated key is what the cache holds: with rotary, slot n differs from the unrotated key
        if (form != Form.PACKED) {
            float[] present = out.get("fused.present_k").toFloats(), qkv = in.get("qkv").toFloats();
            int n = (int) in.get("seqlens").toLongs()[b - 1];
            long pos = in.get("position").toLongs()[npos == 1 ? 0 : b - 1];
            double moved = 0;
            for (int d = 0; d < hd; d++) moved += Math.abs(present[(((b - 1) * hkv) * s + n) * hd + d] - qkv[(b - 1) * (h + 2 * hkv) * hd + h * hd + d]);
            assertTrue(pos == 0 || moved > 1e-3, "slot n holds the rotated key (position " + pos + ")");
        }
    }

    /** A row whose position is outside [0, max_position) gets y = 0 and no cache write, like an out-of-range seqlens. */
    @Test
    void positionOutOfRangeSkipsTheRow() {
        Assumptions.assumeTrue(CustomOps.cpuAvailable(), "native ops not built (-Dcatonnx.native.skip=true)");
        int b = 3, h = 4, hkv = 2, hd = 32, s = 8, r = 32;
        Map<String, TensorData> in = fusedInputs(b, h, hkv, hd, s, r, b, 3), out;
        in.put("position", TensorData.ofLongs(new long[] {2, MAX_POSITION, -1}, b));
        in.put("seqlens", TensorData.ofInts(new int[] {4, 4, 4}, b));
        byte[] model = new OnnxModel(fusedGraph(Form.PACKED_ROTARY, b, h, hkv, hd, s, r, b, DType.FLOAT, false)).toBytes();
        try (ModelSession ms = OrtRuntime.get().open(model, CustomOps.register(SessionConfig.defaults()))) {
            out = ms.run(in);
        }
        float[] y = out.get("fused.y").toFloats(), pk = out.get("fused.present_k").toFloats(), past = in.get("past_k").toFloats();
        int row = h * hd, cacheRow = hkv * s * hd;
        assertTrue(Math.abs(y[0]) + Math.abs(y[1]) > 0, "row 0 is in range");
        for (int i = row; i < 3 * row; i++) assertEquals(0f, y[i], 0f, "y element " + i);
        assertArrayEquals(java.util.Arrays.copyOfRange(past, cacheRow, 3 * cacheRow), java.util.Arrays.copyOfRange(pk, cacheRow, 3 * cacheRow), 0f);
    }

    static RuntimeException runFails(byte[] model, Map<String, TensorData> in) {
        return assertThrows(RuntimeException.class, () -> {
            try (ModelSession ms = OrtRuntime.get().open(model, CustomOps.register(SessionConfig.defaults()))) {
                ms.run(in);
            }
        });
    }

    static void assertMessage(RuntimeException e, String fragment) {
        assertTrue(String.valueOf(e.getMessage()).contains(fragment), () -> "message \"" + e.getMessage() + "\" lacks \"" + fragment + "\"");
    }

    /** The kernel's own checks, for what the builder cannot see (symbolic dims) or a hand-edited graph. */
    @Test
    void fusedFormErrors() {
        Assumptions.assumeTrue(CustomOps.cpuAvailable(), "native ops not built (-Dcatonnx.native.skip=true)");
        int b = 2, h = 4, hkv = 2, hd = 32, s = 8;
        float scale = 0.25f;
        // packed width not (H + 2*Hkv)*hd: head_dim symbolic, so only the kernel knows
        Graph g = Graph.create("bad_width");
        Value qkv = g.input("qkv", DType.FLOAT, b, 1, "w"), pk = g.input("past_k", DType.FLOAT, b, hkv, s, "hd"),
                pv = g.input("past_v", DType.FLOAT, b, hkv, s, "hd"), lens = g.input("seqlens", DType.INT32, b);
        g.output("y", g.catDecodeAttention(qkv, pk, pv, lens, null, null, null, h, hkv, scale)[0]);
        Map<String, TensorData> in = fusedInputs(b, h, hkv, hd, s, 0, 0, 1);
        in.put("qkv", random(new Random(1), b, 1, (h + 2 * hkv) * hd - 8));
        assertMessage(runFails(new OnnxModel(g).toBytes(), in), "packed q|k|v must be [B,1,(num_heads+2*kv_num_heads)*head_dim] = [B,1,256]");

        // rotary_dim > head_dim: cos's width symbolic
        g = Graph.create("bad_rotary");
        qkv = g.input("qkv", DType.FLOAT, b, 1, (h + 2 * hkv) * hd);
        pk = g.input("past_k", DType.FLOAT, b, hkv, s, hd); pv = g.input("past_v", DType.FLOAT, b, hkv, s, hd);
        lens = g.input("seqlens", DType.INT32, b);
        Value pos = g.input("position", DType.INT64, 1), cos = g.input("cos", DType.FLOAT, MAX_POSITION, "r2"),
                sin = g.input("sin", DType.FLOAT, MAX_POSITION, "r2");
        g.output("y", g.catDecodeAttention(qkv, pk, pv, lens, pos, cos, sin, h, hkv, scale)[0]);
        in = fusedInputs(b, h, hkv, hd, s, hd + 2, 1, 1);
        assertMessage(runFails(new OnnxModel(g).toBytes(), in), "rotary_dim = 2*cos_cache.shape[1] = 34 must be in [2, head_dim = 32]");

        // cos/sin without position: the builder refuses it, so drop the position from a valid node
        OnnxMl.ModelProto.Builder m = new OnnxModel(fusedGraph(Form.PACKED_ROTARY, b, h, hkv, hd, s, hd, 1, DType.FLOAT, false)).toProto().toBuilder();
        OnnxMl.GraphProto.Builder gb = m.getGraphBuilder();
        for (OnnxMl.NodeProto.Builder n : gb.getNodeBuilderList()) if (n.getOpType().equals("CatDecodeAttention")) n.setInput(6, "");
        for (int i = gb.getInputCount() - 1; i >= 0; i--) if (gb.getInput(i).getName().equals("position")) gb.removeInput(i);
        in = fusedInputs(b, h, hkv, hd, s, hd, 1, 1);
        in.remove("position");
        assertMessage(runFails(m.build().toByteArray(), in), "position (int64) is required with cos_cache/sin_cache");
    }

    @Tag("gpu")
    @ParameterizedTest(name = "CUDA {0} B{1} H{2} Hkv{3} hd{4} S{5} R{6} position[{7}] {8}")
    @CsvSource({"PACKED_ROTARY,3,8,2,64,10,64,3,FLOAT", "PACKED_ROTARY,4,4,4,32,17,16,1,FLOAT", "PACKED_ROTARY,5,8,2,128,300,96,5,FLOAT16",
            "PACKED_ROTARY,64,24,24,64,266,64,64,BFLOAT16", "PACKED_ROTARY,64,24,24,64,266,64,1,BFLOAT16",
            "PACKED,3,8,2,64,10,0,0,FLOAT", "PACKED,3,8,2,128,40,0,0,BFLOAT16",
            "UNPACKED_ROTARY,3,8,2,64,10,32,3,FLOAT16", "UNPACKED_ROTARY,3,4,4,32,10,32,1,BFLOAT16"})
    void cudaFusedEqualsCpuFused(Form form, int b, int h, int hkv, int hd, int s, int r, int npos, String type) {
        Assumptions.assumeTrue(OrtRuntime.cudaAvailable() && CustomOps.cudaLibrary().isPresent(), "no CUDA provider or CUDA library");
        DType t = DType.valueOf(type);
        byte[] model = new OnnxModel(fusedGraph(form, b, h, hkv, hd, s, r, npos, t, false)).toBytes();
        Map<String, TensorData> in = fusedInputs(b, h, hkv, hd, s, r, npos, 13), cpu, gpu;
        try (ModelSession ms = OrtRuntime.get().open(model, CustomOps.register(SessionConfig.defaults()))) {
            cpu = ms.run(in);
        }
        try (ModelSession ms = OrtRuntime.get().open(model, CustomOps.register(SessionConfig.defaults().withDevice(Device.CUDA)))) {
            gpu = ms.run(in);
        }
        float[] want = cpu.get("fused.y").toFloats(), got = gpu.get("fused.y").toFloats();
        double worst = 0;
        for (int i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(want[i] - got[i]) / Math.max(1.0, Math.abs(want[i])));
        double tol = t == DType.FLOAT ? 1e-5 : t == DType.FLOAT16 ? 2e-3 : 2e-2;
        System.out.printf("CatDecodeAttention fused CUDA vs CPU %s %s B%d H%d Hkv%d hd%d S%d R%d: max error %.2e%n", form, t, b, h, hkv, hd, s, r, worst);
        assertTrue(worst <= tol, "max error " + worst + " > " + tol);
        // both kernels round each rotary product and sum once (no fma): the caches agree bit for bit
        assertArrayEquals(cpu.get("fused.present_k").toFloats(), gpu.get("fused.present_k").toFloats(), 0f);
        assertArrayEquals(cpu.get("fused.present_v").toFloats(), gpu.get("fused.present_v").toFloats(), 0f);
    }
}
