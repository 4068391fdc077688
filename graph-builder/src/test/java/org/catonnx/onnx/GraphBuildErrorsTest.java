package org.catonnx.onnx;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad construction fails at build time with a GraphBuildException naming the node (its scope path) and the shapes or types. */
class GraphBuildErrorsTest {
    private final Graph g = Graph.create("errors");

    private static GraphBuildException assertFails(Executable e, String... fragments) {
        GraphBuildException ex = assertThrows(GraphBuildException.class, e);
        for (String f : fragments) {
            assertTrue(ex.getMessage().contains(f), () -> "message \"" + ex.getMessage() + "\" lacks \"" + f + "\"");
        }
        return ex;
    }

    private Value in(String name, DType t, Object... dims) { return g.input(name, t, dims); }

    private Value in(String name, Object... dims) { return in(name, DType.FLOAT, dims); }

    @Test
    void matMulInnerDimensionsDiffer() {
        Value a = in("a", 2, 3), b = in("b", 4, 5);
        try (Graph.Scope s = g.scope("layer")) {
            assertFails(() -> g.matMul(a, b), "/layer/MatMul", "[2,3]", "[4,5]", "inner dimensions");
        }
    }

    @Test
    void matMulBatchDimsDoNotBroadcast() {
        Value a = in("a", 2, 3, 4), b = in("b", 5, 4, 6);
        assertFails(() -> g.matMul(a, b), "/MatMul", "[2]", "[5]", "do not broadcast");
    }

    @Test
    void symbolicInnerDimsAreAccepted() {
        Value a = in("a", "batch", "k"), b = in("b", 4, 5);
        assertEquals(Shape.of("batch", 5), g.matMul(a, b).shape());
    }

    @Test
    void nodeNamesFollowNestedScopes() {
        Value a = in("a", 2, 3), b = in("b", 4, 5), w = in("w", 3, 3);
        try (Graph.Scope s1 = g.scope("decoder"); Graph.Scope s2 = g.scope("layers.3"); Graph.Scope s3 = g.scope("attn")) {
            g.matMul(a, w); // the first MatMul here is /decoder/layers.3/attn/MatMul
            assertFails(() -> g.matMul(a, b), "/decoder/layers.3/attn/MatMul_1", "[2,3]", "[4,5]");
        }
    }

    @Test
    void addDoesNotBroadcast() {
        Value a = in("a", 2, 3), b = in("b", 4);
        try (Graph.Scope s = g.scope("layer")) {
            assertFails(() -> g.add(a, b), "/layer/Add", "[2,3]", "[4]", "do not broadcast");
        }
    }

    @Test
    void unknownAttribute() {
        Value x = in("x", 2, 3);
        try (Graph.Scope s = g.scope("head")) {
            assertFails(() -> g.apply(Op.SOFTMAX, List.of(x), Map.of("axes", new long[] {1}), 1),
                    "/head/Softmax", "unknown attribute 'axes'", "axis");
        }
    }

    @Test
    void wrongAttributeKind() {
        Value x = in("x", 2, 3);
        assertFails(() -> g.apply(Op.SOFTMAX, List.of(x), Map.of("axis", 1.5f), 1), "/Softmax", "'axis'", "INT", "FLOAT");
        assertFails(() -> g.apply(Op.TRANSPOSE, List.of(x), Map.of("perm", 1L), 1), "/Transpose", "'perm'", "INTS", "INT");
        assertFails(() -> g.apply(Op.CAST, List.of(x), Map.of("to", List.of(1)), 1), "/Cast", "'to'");
    }

    @Test
    void duplicateNames() {
        in("x", 2);
        assertFails(() -> in("x", 3), "duplicate name 'x'", "errors");
        g.parameter("w", TensorData.ofFloats(new float[] {1, 2}, 2));
        assertFails(() -> g.parameter("w", TensorData.ofFloats(new float[] {3}, 1)), "duplicate name 'w'");
        assertFails(() -> in("w", 2), "duplicate name 'w'");
        assertFails(() -> g.initializer("x", TensorData.ofFloats(new float[] {3}, 1), false), "duplicate name 'x'");
    }

    @Test
    void duplicateOutputName() {
        Value x = in("x", 2);
        g.output("y", g.neg(x));
        assertFails(() -> g.output("y", g.abs(x)), "duplicate name 'y'");
        assertFails(() -> g.output("x", g.abs(x)), "duplicate name 'x'");
    }

    @Test
    void reshapeToImpossibleStaticShape() {
        Value x = in("x", 2, 3, 4);
        try (Graph.Scope s = g.scope("proj")) {
            assertFails(() -> g.reshape(x, 5, 5), "/proj/Reshape", "[2,3,4]", "[5,5]");
            assertFails(() -> g.reshape(x, 5, -1), "/proj/Reshape_1", "[2,3,4]", "[5,-1]");
            assertFails(() -> g.reshape(x, -1, -1), "/proj/Reshape_2", "more than one -1");
            assertFails(() -> g.reshape(x, 0, 0, 0, 0), "/proj/Reshape_3", "[2,3,4]", "position 3");
        }
    }

    @Test
    void concatRankMismatch() {
        Value a = in("a", 2, 3), b = in("b", 2, 3, 1);
        try (Graph.Scope s = g.scope("cat")) {
            assertFails(() -> g.concat(1, a, b), "/cat/Concat", "[2,3]", "[2,3,1]", "ranks");
        }
    }

    @Test
    void concatDimensionMismatch() {
        Value a = in("a", 2, 3), b = in("b", 4, 3);
        assertFails(() -> g.concat(1, a, b), "/Concat", "dimension 0", "[2,3]", "[4,3]");
    }

    @Test
    void transposeBadPerm() {
        Value x = in("x", 2, 3, 4);
        try (Graph.Scope s = g.scope("t")) {
            assertFails(() -> g.transpose(x, 0, 0, 1), "/t/Transpose", "invalid perm [0,0,1]");
            assertFails(() -> g.transpose(x, 1, 0), "/t/Transpose_1", "[1,0]", "rank 3", "[2,3,4]");
            assertFails(() -> g.transpose(x, 0, 1, 3), "/t/Transpose_2", "invalid perm [0,1,3]");
        }
    }

    @Test
    void typeMismatch() {
        Value f = in("f", 2, 3), n = in("n", DType.INT64, 2, 3);
        try (Graph.Scope s = g.scope("mix")) {
            assertFails(() -> g.add(f, n), "/mix/Add", "FLOAT", "INT64");
            assertFails(() -> g.matMul(f, n), "/mix/MatMul", "FLOAT", "INT64");
            assertFails(() -> g.concat(0, f, n), "/mix/Concat", "FLOAT", "INT64");
            assertFails(() -> g.sqrt(n), "/mix/Sqrt", "floating point", "INT64[2,3]");
        }
    }

    @Test
    void whereNeedsBoolCondition() {
        Value c = in("c", 2, 3), a = in("a", 2, 3), b = in("b", 2, 3);
        try (Graph.Scope s = g.scope("mask")) {
            assertFails(() -> g.where(c, a, b), "/mask/Where", "must be BOOL", "FLOAT[2,3]");
        }
    }

    @Test
    void tooFewInputs() {
        Value x = in("x", 2, 3);
        try (Graph.Scope s = g.scope("l")) {
            assertFails(() -> g.apply(Op.MATMUL, List.of(x), Map.of(), 1), "/l/MatMul", "takes 2 inputs, got 1");
            assertFails(() -> g.apply(Op.WHERE, Arrays.asList(x, x, null), Map.of(), 1), "/l/Where", "takes 3 inputs, got 2");
            assertFails(() -> g.apply(Op.SLICE, Arrays.asList(x, null, g.constInt64(1)), Map.of(), 1), "/l/Slice", "input 1 is required");
            assertFails(() -> g.apply(Op.ADD, List.of(x, x, x), Map.of(), 1), "/l/Add", "takes 2 inputs, got 3");
        }
    }

    @Test
    void axisOutOfRange() {
        Value x = in("x", 2, 3, 4);
        assertFails(() -> g.softmax(x, 3), "/Softmax", "axis 3", "rank 3");
        assertFails(() -> g.reduceSum(x, true, -4), "/ReduceSum", "axis -4");
        assertFails(() -> g.gather(x, g.constInt64(0), 5), "/Gather", "axis 5");
    }

    @Test
    void otherShapeErrors() {
        Value x = in("x", 2, 6, 1);
        assertFails(() -> g.split(x, 1, 2, 3), "/Split", "[2,3]", "do not add up", "[2,6,1]");
        assertFails(() -> g.squeeze(x, 1), "/Squeeze", "axis 1", "[2,6,1]", "not 1");
        assertFails(() -> g.unsqueeze(x, 0, 0), "/Unsqueeze", "repeated axis");
        assertFails(() -> g.slice(x, 1, 0, 4, 0), "/Slice", "step 0");
        assertFails(() -> g.gather(x, in("fi", 2), 0), "/Gather", "indices", "FLOAT");
        assertFails(() -> g.gemm(x, x, null, 1, 1, false, false), "/Gemm", "2-D", "[2,6,1]");
        assertFails(() -> g.gatherElements(x, in("ii", DType.INT64, 2, 6), 0), "/GatherElements", "rank", "[2,6,1]", "[2,6]");
        assertFails(() -> g.matMul(in("s", DType.FLOAT), x), "/MatMul", "scalar");
    }

    @Test
    void badScopesAndForeignValues() {
        assertFails(() -> g.scope("a/b"), "invalid scope name 'a/b'");
        assertFails(() -> g.scope(""), "invalid scope name");
        Graph other = Graph.create("other");
        Value foreign = other.input("z", DType.FLOAT, 2);
        Value x = in("x", 2);
        assertFails(() -> g.add(x, foreign), "/Add", "z", "another model");
    }

    @Test
    void controlFlowBodyErrors() {
        Value x = in("x", 3);
        assertFails(() -> g.loop(g.scalarInt64(2), g.scalarBool(true), List.of(x), null,
                (b, iter, carried) -> List.of(b.identity(carried.get(0)), carried.get(0))), "Loop body condition must be bool");
        assertFails(() -> g.loop(g.scalarInt64(2), g.scalarBool(true), List.of(x), null,
                (b, iter, carried) -> List.of(b.scalarBool(true))), "Loop body returned 1 values, needs at least 2");
        assertFails(() -> g.ifElse(g.scalarBool(true), t -> List.of(x), e -> List.of(e.cast(x, DType.INT64))), "If branch output 0 types differ");
        assertFails(() -> g.ifElse(g.scalarBool(true), t -> List.of(x), e -> List.of(x, x)), "If branches return 1 and 2 values");
    }

    @Test
    void modelNeedsOutputs() {
        in("x", 2);
        assertFails(() -> new OnnxModel(g), "has no outputs");
    }
}
