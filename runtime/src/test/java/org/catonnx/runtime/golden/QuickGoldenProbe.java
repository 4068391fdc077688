package org.catonnx.runtime.golden;

import org.catonnx.exporter.reference.ReferenceCase;
import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.graphs.GraphOptions;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.TensorData;
import org.catonnx.runtime.ModelSession;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.SessionConfig;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

class QuickGoldenProbe {
    @Test
    void probe() throws Exception {
        for (String name : new String[] {"transformer", "cat_c4", "cat_c8_qknorm", "cat_adaptive_c8", "cat_layer_c4"}) {
            try (ReferenceCase rc = ReferenceCase.open(Path.of("/work/shared/golden", name))) {
                int chunk = rc.spec().chunkSize();
                Graph g = ForwardGraphs.forward(rc.spec(), rc.weights(), chunk, GraphOptions.defaults());
                try (ModelSession s = OrtRuntime.get().open(new OnnxModel(g).toBytes(), SessionConfig.defaults())) {
                    TensorData out = s.run(Map.of("input_ids", rc.require("input_ids"))).get("logits");
                    String key = rc.io("logits").isPresent() ? "logits" : "logits.p" + Integer.numberOfTrailingZeros(chunk);
                    float[] a = out.toFloats(), b = rc.require(key).toFloats();
                    double m = 0;
                    for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
                    System.out.println(name + " " + key + " maxerr " + m + " n=" + a.length + "/" + b.length);
                }
            }
        }
    }
}
