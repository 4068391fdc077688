package org.catonnx.runtime.generate;

import org.catonnx.models.ModelConfig;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.RandomInit;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.TensorData;

import java.util.HashMap;
import java.util.Map;

/** Small random models of every variant for self-consistency tests. */
public final class TestModels {
    private TestModels() {}

    static ModelConfig.Builder decoder(int chunk, boolean gqa, boolean qkNorm) {
        return new ModelConfig.Builder().blockSize(64).vocabSize(200).nLayer(2).nHead(4).nLocalHeads(gqa ? 2 : 4).dim(32)
                .intermediateSize(64).useQkNorm(qkNorm).chunkSize(chunk).dimFx(chunk > 0 ? 32 : 0);
    }

    static ModelConfig compressor(int chunk) {
        return new ModelConfig.Builder().blockSize(64).vocabSize(200).nLayer(1).nHead(2).dim(16).intermediateSize(32)
                .chunkSize(chunk).dimFx(32).build();
    }

    public static ModelSpec dense(boolean gqa) {
        return ModelSpec.transformer(decoder(0, gqa, false).build());
    }

    public static ModelSpec cat(int chunk, boolean gqa, boolean qkNorm) {
        return ModelSpec.cat(decoder(chunk, gqa, qkNorm).build(), compressor(chunk));
    }

    public static ModelSpec adaptive(int chunk) {
        return ModelSpec.catAdaptive(decoder(chunk, false, false).build(), compressor(chunk));
    }

    public static ModelSpec layer(int chunk, String pattern) {
        ModelConfig.Builder b = decoder(chunk, false, false).dimFx(64);
        if (pattern != null) b.nLayer(pattern.length());
        return ModelSpec.catLayer(b.build(), pattern);
    }

    /**
     * Reference-initialised weights with the output head scaled up so logits are spread out:
     * greedy ties between two float32 computation orders then practically never happen.
     */
    public static WeightSource weights(ModelSpec spec, long seed) {
        RandomInit init = new RandomInit(spec, seed);
        Map<String, TensorData> scaled = new HashMap<>();
        return new WeightSource() {
            @Override
            public TensorData tensor(String name) {
                return tensor(name, null);
            }

            @Override
            public TensorData tensor(String name, long[] shape) {
                TensorData t = shape == null ? init.tensor(name) : init.tensor(name, shape);
                if (!name.equals("output.weight")) return t;
                return scaled.computeIfAbsent(name, n -> {
                    float[] v = t.toFloats();
                    for (int i = 0; i < v.length; i++) v[i] *= 40;
                    return TensorData.ofFloats(v, t.shape());
                });
            }
        };
    }
}
