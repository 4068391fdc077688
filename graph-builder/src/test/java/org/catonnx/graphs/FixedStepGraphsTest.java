package org.catonnx.graphs;

import org.catonnx.models.ModelConfig;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.RandomInit;
import org.catonnx.nn.GraphOptions;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Node;
import org.catonnx.onnx.Op;
import org.catonnx.onnx.Value;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What CUDA graph capture needs from the fixed step graphs: every input and output shape fully
 * known (batch included), no control flow, and each present shaped exactly like its past so one
 * buffer can be bound to both. Their numbers are checked in runtime's BoundGeneratorTest.
 */
class FixedStepGraphsTest {
    private static ModelConfig.Builder config(int chunk) {
        return new ModelConfig.Builder().blockSize(64).vocabSize(200).nLayer(2).nHead(4).nLocalHeads(2).dim(32)
                .intermediateSize(64).chunkSize(chunk).dimFx(chunk > 0 ? 32 : 0);
    }

    private static ModelSpec cat(int chunk) {
        return ModelSpec.cat(config(chunk).build(), config(chunk).nLayer(1).nLocalHeads(4).build());
    }

    @Test
    void catGraphsAreStaticAndFreeOfControlFlow() {
        ModelSpec spec = cat(4);
        RandomInit w = new RandomInit(spec, 1);
        for (DType t : new DType[] {DType.FLOAT, DType.BFLOAT16}) {
            GraphOptions o = GraphOptions.defaults().withPrecision(t).withFusedNorm(true);
            checkStatic(FixedStepGraphs.catStep(spec, w, 4, 3, o));
            checkStatic(FixedStepGraphs.catCompress(spec, w, 4, 3, o));
            checkCaches(FixedStepGraphs.catStep(spec, w, 4, 3, o), spec.decoder.nLayer, List.of(3L, 2L, 64L / 4 + 2 + 4, 8L));
        }
    }

    @Test
    void denseGraphIsStaticAndFreeOfControlFlow() {
        ModelSpec spec = ModelSpec.transformer(config(0).build());
        Graph g = FixedStepGraphs.denseStep(spec, new RandomInit(spec, 1), 5, GraphOptions.defaults());
        checkStatic(g);
        checkCaches(g, 2, List.of(5L, 2L, 64L, 8L));
    }

    @Test
    void otherVariantsAndBadBatchesAreRefused() {
        ModelSpec adaptive = ModelSpec.catAdaptive(config(8).build(), config(8).nLayer(1).nLocalHeads(4).build());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FixedStepGraphs.catStep(adaptive, new RandomInit(adaptive, 1), 4, 1, GraphOptions.defaults()));
        assertTrue(e.getMessage().contains("cat_adaptive"), e.getMessage());
        ModelSpec spec = cat(4);
        e = assertThrows(IllegalArgumentException.class, () -> FixedStepGraphs.catStep(spec, new RandomInit(spec, 1), 4, 0, GraphOptions.defaults()));
        assertTrue(e.getMessage().contains("batch"), e.getMessage());
    }

    private static void checkStatic(Graph g) {
        for (Value v : g.inputs()) assertTrue(v.shape().isStatic(), g.name() + " input " + v.name() + " " + v.shape());
        for (Value v : g.outputs()) assertTrue(v.shape().isStatic(), g.name() + " output " + v.name() + " " + v.shape());
        for (Node n : g.nodes()) assertFalse(Set.of(Op.LOOP, Op.IF).contains(n.op), g.name() + " has " + n.name);
    }

    private static void checkCaches(Graph g, int layers, List<Long> dims) {
        for (int i = 0; i < layers; i++) {
            for (String part : new String[] {"k", "v"}) {
                Value past = find(g.inputs(), FixedStepGraphs.past(i, part)), present = find(g.outputs(), FixedStepGraphs.present(i, part));
                assertEquals(past.shape(), present.shape(), part + i);
                for (int d = 0; d < 4; d++) assertEquals(dims.get(d), past.shape().dims().get(d).size(), part + i + " dim " + d);
            }
        }
    }

    private static Value find(List<Value> values, String name) {
        return values.stream().filter(v -> v.name().equals(name)).findFirst().orElseThrow(() -> new AssertionError("no " + name));
    }
}
