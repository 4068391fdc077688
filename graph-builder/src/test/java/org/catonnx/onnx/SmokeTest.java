package org.catonnx.onnx;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class SmokeTest {
    @Test
    void matMulAddRuns() {
        Graph g = Graph.create("smoke");
        Value x = g.input("x", DType.FLOAT, "batch", 3);
        Value w = g.parameter("w", TensorData.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 3, 2));
        Value y;
        try (Graph.Scope s = g.scope("layer")) {
            y = x.matMul(w).add(g.scalar(1.0, DType.FLOAT));
        }
        g.output("y", y);
        Map<String, TensorData> out = OrtRunner.run(g, Map.of("x", TensorData.ofFloats(new float[] {1, 1, 1}, 1, 3)));
        assertArrayEquals(new float[] {10, 13}, out.get("y").toFloats());
    }
}
