package org.catonnx.onnx;

import ai.onnx.proto.OnnxMl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Our domain's nodes as built and serialized: CatDecodeAttention's packed and rotary forms (omitted
 * inputs in the middle of the list), SwiGlu; their shape rules and build-time errors. The kernels
 * are checked in the runtime module (CatDecodeAttentionOpTest, SwiGluOpTest).
 */
class CustomOpNodesTest {
    private final Graph g = Graph.create("custom");

    private static void assertFails(Executable e, String... fragments) {
        GraphBuildException ex = assertThrows(GraphBuildException.class, e);
        for (String f : fragments) assertTrue(ex.getMessage().contains(f), () -> "message \"" + ex.getMessage() + "\" lacks \"" + f + "\"");
    }

    private static List<String> nodeInputs(Graph g, String opType) {
        OnnxMl.ModelProto p = new OnnxModel(g).toProto();
        return p.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals(opType)).findFirst().orElseThrow().getInputList();
    }

    @Test
    void omittedInputInTheMiddleIsSerializedAsEmptyName() {
        Value x = g.input("x", DType.FLOAT, 3), hi = g.input("hi", DType.FLOAT);
        g.output("y", g.clip(x, null, hi));
        assertEquals(List.of("x", "", "hi"), nodeInputs(g, "Clip"));
    }

    /** H 4, Hkv 2, hd 8: packed width (4 + 2*2) * 8 = 64, y 4*8 = 32. */
    private Value[] packed(DType posType, long cosHalf, boolean withCos) {
        Value qkv = g.input("qkv", DType.FLOAT, "b", 1, 64), pk = g.input("past_k", DType.FLOAT, "b", 2, 16, 8),
                pv = g.input("past_v", DType.FLOAT, "b", 2, 16, 8), lens = g.input("seqlens", DType.INT32, "b");
        Value pos = g.input("position", posType, "b");
        Value cos = withCos ? g.input("cos", DType.FLOAT, 32, cosHalf) : null, sin = withCos ? g.input("sin", DType.FLOAT, 32, cosHalf) : null;
        return g.catDecodeAttention(qkv, pk, pv, lens, pos, cos, sin, 4, 2, 0.5f);
    }

    @Test
    void packedRotaryDecodeAttentionShapesAndInputs() {
        Value[] r = packed(DType.INT64, 2, true);
        assertEquals(Shape.of("b", 1, 32), r[0].shape());
        assertEquals(Shape.of("b", 2, 16, 8), r[1].shape());
        assertEquals(Shape.of("b", 2, 16, 8), r[2].shape());
        for (int i = 0; i < 3; i++) g.output("out" + i, r[i]);
        assertEquals(List.of("qkv", "", "", "past_k", "past_v", "seqlens", "position", "cos", "sin"), nodeInputs(g, "CatDecodeAttention"));
    }

    @Test
    void packedWithoutRotaryEndsAfterSeqlens() {
        Value qkv = g.input("qkv", DType.FLOAT16, 2, 1, 64), pk = g.input("past_k", DType.FLOAT16, 2, 2, 16, 8),
                pv = g.input("past_v", DType.FLOAT16, 2, 2, 16, 8), lens = g.input("seqlens", DType.INT32, 2);
        Value[] r = g.catDecodeAttention(qkv, pk, pv, lens, null, null, null, 4, 2, 0.5f);
        assertEquals(Shape.of(2, 1, 32), r[0].shape());
        assertEquals(DType.FLOAT16, r[0].type());
        g.output("y", r[0]);
        assertEquals(List.of("qkv", "", "", "past_k", "past_v", "seqlens"), nodeInputs(g, "CatDecodeAttention"));
    }

    @Test
    void unpackedKeepsQueryShape() {
        Value q = g.input("q", DType.FLOAT, 2, 1, 32), k = g.input("k", DType.FLOAT, 2, 1, 16), v = g.input("v", DType.FLOAT, 2, 1, 16),
                pk = g.input("past_k", DType.FLOAT, 2, 2, 16, 8), pv = g.input("past_v", DType.FLOAT, 2, 2, 16, 8),
                lens = g.input("seqlens", DType.INT32, 2);
        assertEquals(Shape.of(2, 1, 32), g.catDecodeAttention(q, k, v, pk, pv, lens, 4, 2, 0.5f)[0].shape());
    }

    @Test
    void decodeAttentionErrors() {
        Value qkv = g.input("qkv", DType.FLOAT, 2, 1, 64), q = g.input("q", DType.FLOAT, 2, 1, 32), k = g.input("k", DType.FLOAT, 2, 1, 16),
                pk = g.input("past_k", DType.FLOAT, 2, 2, 16, 8), pv = g.input("past_v", DType.FLOAT, 2, 2, 16, 8),
                lens = g.input("seqlens", DType.INT32, 2), pos = g.input("position", DType.INT64, 2),
                pos32 = g.input("position32", DType.INT32, 2), cos = g.input("cos", DType.FLOAT, 32, 4),
                wide = g.input("cos_wide", DType.FLOAT, 32, 5), cos16 = g.input("cos16", DType.FLOAT16, 32, 4),
                bad = g.input("bad", DType.FLOAT, 2, 1, 60);
        assertFails(() -> g.catDecodeAttention(q, k, null, pk, pv, lens, null, null, null, 4, 2, 1f), "k and v must both be given");
        assertFails(() -> g.catDecodeAttention(bad, pk, pv, lens, null, null, null, 4, 2, 1f), "packed q|k|v", "[B,1,64]");
        assertFails(() -> g.catDecodeAttention(qkv, pk, pv, lens, null, cos, cos, 4, 2, 1f), "position (int64) is required");
        assertFails(() -> g.catDecodeAttention(qkv, pk, pv, lens, pos, null, null, 4, 2, 1f), "position (int64) is required");
        assertFails(() -> g.catDecodeAttention(qkv, pk, pv, lens, pos, cos, null, 4, 2, 1f), "cos_cache and sin_cache must be given together");
        assertFails(() -> g.catDecodeAttention(qkv, pk, pv, lens, pos32, cos, cos, 4, 2, 1f), "input 6 must be INT64");
        assertFails(() -> g.catDecodeAttention(qkv, pk, pv, lens, pos, cos16, cos16, 4, 2, 1f), "input 0 is FLOAT but input 7 is FLOAT16");
        assertFails(() -> g.catDecodeAttention(qkv, pk, pv, lens, pos, wide, wide, 4, 2, 1f), "rotary_dim", "exceeds head_dim 8");
        assertFails(() -> g.catDecodeAttention(null, pk, pv, lens, pos, cos, cos, 4, 2, 1f), "input 0 is required");
    }

    @Test
    void swiGluHalvesTheLastDim() {
        Value x = g.input("x", DType.BFLOAT16, "b", 1, 10);
        Value y = g.swiGlu(x);
        assertEquals(Shape.of("b", 1, 5), y.shape());
        assertEquals(DType.BFLOAT16, y.type());
        assertEquals(Shape.of(3, Dim.unknown()), g.swiGlu(g.input("s", DType.FLOAT, 3, "f2")).shape());
        g.output("y", y);
        OnnxMl.NodeProto n = new OnnxModel(g).toProto().getGraph().getNode(0);
        assertEquals("SwiGlu", n.getOpType());
        assertEquals(Domains.CAT, n.getDomain());
    }

    @Test
    void swiGluErrors() {
        assertFails(() -> g.swiGlu(g.input("odd", DType.FLOAT, 2, 7)), "last dim must be even", "[2,7]");
        assertFails(() -> g.swiGlu(g.input("ints", DType.INT32, 2, 8)), "must be floating point");
        assertFails(() -> g.swiGlu(g.input("scalar", DType.FLOAT)), "rank >= 1");
    }
}
