package org.catonnx.exporter.checkpoint;

import org.catonnx.models.ModelConfig;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.RandomInit;
import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.nn.GraphOptions;
import org.catonnx.onnx.TensorData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A checkpoint must hold exactly the model's parameters; every deviation is named. */
class CheckpointImportTest {
    @TempDir
    Path dir;

    static ModelSpec spec() {
        return ModelSpec.transformer(new ModelConfig.Builder().blockSize(16).vocabSize(32).nLayer(1).nHead(2).dim(16).intermediateSize(32).build());
    }

    Path write(Map<String, TensorData> tensors) throws Exception {
        Path p = dir.resolve("w" + tensors.hashCode() + ".safetensors");
        SafetensorsWriter.write(p, tensors);
        return p;
    }

    Map<String, TensorData> complete() {
        RandomInit init = new RandomInit(spec(), 1);
        ForwardGraphs.forward(spec(), init, 0, GraphOptions.defaults());
        return new LinkedHashMap<>(init.tensors());
    }

    @Test
    void exactCheckpointIsAccepted() throws Exception {
        try (Checkpoint c = Checkpoint.open(write(complete()))) {
            c.requireExactly(spec());
        }
    }

    @Test
    void missingExtraAndMisShapedTensorsAreNamed() throws Exception {
        Map<String, TensorData> missing = complete();
        missing.remove("layers.0.ffn_norm.weight");
        Map<String, TensorData> extra = complete();
        extra.put("layers.7.attention.wo.weight", TensorData.ofFloats(new float[4], 2, 2));
        Map<String, TensorData> shaped = complete();
        shaped.put("output.weight", TensorData.ofFloats(new float[32 * 8], 32, 8));
        String[][] cases = {{"missing", "layers.0.ffn_norm.weight"}, {"extra", "layers.7.attention.wo.weight"}, {"shaped", "output.weight"}};
        Map<String, Map<String, TensorData>> byCase = Map.of("missing", missing, "extra", extra, "shaped", shaped);
        for (String[] c : cases) {
            try (Checkpoint ck = Checkpoint.open(write(byCase.get(c[0])))) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ck.requireExactly(spec()), c[0]);
                assertTrue(e.getMessage().contains(c[1]), c[0] + ": " + e.getMessage());
            }
        }
    }
}
