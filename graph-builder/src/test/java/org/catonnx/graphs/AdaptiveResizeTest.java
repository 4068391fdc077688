package org.catonnx.graphs;

import org.catonnx.nn.GraphOptions;
import org.catonnx.models.ModelConfig;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.RandomInit;
import org.catonnx.onnx.OrtRunner;
import org.catonnx.onnx.TensorData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Adaptive CAT below the trained chunk size: resizing proj_fx inside the graph (training) gives the
 * same logits as the export-time resize (inference), and its gradient reaches f.proj_fx.weight.
 */
class AdaptiveResizeTest {
    static ModelSpec spec() {
        ModelConfig.Builder d = new ModelConfig.Builder().blockSize(32).vocabSize(64).nLayer(1).nHead(2).dim(32).intermediateSize(64)
                .chunkSize(8).dimFx(32);
        ModelConfig c = new ModelConfig.Builder().blockSize(32).vocabSize(64).nLayer(1).nHead(2).dim(16).intermediateSize(32)
                .chunkSize(8).dimFx(32).build();
        return ModelSpec.catAdaptive(d.build(), c);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 4})
    void inGraphResizeMatchesExportTimeResizeAndIsTrained(int chunk) {
        ModelSpec spec = spec();
        RandomInit w = new RandomInit(spec, 5);
        ForwardGraphs.forward(spec, w, 8, GraphOptions.defaults());   // creates every weight at its trained shape
        long[] ids = new long[2 * 21];
        for (int i = 0; i < ids.length; i++) ids[i] = (i * 7) % 64;
        Map<String, TensorData> in = Map.of(ForwardGraphs.INPUT_IDS, TensorData.ofLongs(ids, 2, 21));
        float[] exported = OrtRunner.run(ForwardGraphs.forward(spec, w, chunk, GraphOptions.defaults()), in).get("logits").toFloats();
        float[] inGraph = OrtRunner.run(ForwardGraphs.forward(spec, w, chunk, GraphOptions.defaults().withResizeInGraph(true)), in)
                .get("logits").toFloats();
        double worst = 0;
        for (int i = 0; i < exported.length; i++) worst = Math.max(worst, Math.abs(exported[i] - inGraph[i]));
        assertTrue(worst <= 1e-6, "chunk " + chunk + ": in-graph resize differs by " + worst);

        long[] labels = new long[ids.length];
        for (int i = 0; i < ids.length; i++) labels[i] = (i * 3) % 64;
        Map<String, TensorData> grads = OrtRunner.run(TrainingGraphs.gradients(spec, w, chunk, GraphOptions.defaults().withResizeInGraph(true)),
                Map.of(ForwardGraphs.INPUT_IDS, in.get(ForwardGraphs.INPUT_IDS), ForwardGraphs.LABELS, TensorData.ofLongs(labels, 2, 21)));
        TensorData g = grads.get(TrainingGraphs.GRAD_PREFIX + "f.proj_fx.weight");
        assertEquals(spec.compressor.dimFx * 8L * spec.compressor.dim, g.numElements(), "gradient has the trained (full) shape");
        double norm = 0;
        for (float x : g.toFloats()) norm += x * x;
        System.out.printf("chunk %d: in-graph vs export-time resize max error %.1e; |grad f.proj_fx.weight| = %.3e%n", chunk, worst, Math.sqrt(norm));
        assertTrue(norm > 0, "f.proj_fx.weight gets a gradient at chunk " + chunk);
    }
}
