package org.catonnx.models;

import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.TensorData;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.regex.Pattern;

/**
 * Fresh weights with the reference's initialisation (CAT.md section 2, _init_weights):
 * embeddings and Linear weights ~ N(0, sqrt(2 / (5 dim))), the blocks' wo and proj
 * ~ N(0, 1 / sqrt(dim) / n_layer), RMSNorm weights 1, biases 0. dim and n_layer are the
 * compressor's for parameters under "f.", else the decoder's. Weights are created on first
 * request, in request order, from one seeded generator, so a seed always gives the same model.
 */
public final class RandomInit implements WeightSource {
    private static final Pattern RESIDUAL_OUT = Pattern.compile("(f\\.)?layers\\.\\d+\\.(attention\\.wo|feed_forward\\.proj)\\.weight");

    private final ModelSpec spec;
    private final Random random;
    private final Map<String, TensorData> created = new LinkedHashMap<>();

    public RandomInit(ModelSpec spec, long seed) {
        this.spec = spec;
        this.random = new Random(seed);
    }

    /** Everything created so far, by name, in creation order. */
    public Map<String, TensorData> tensors() {
        return java.util.Collections.unmodifiableMap(created);
    }

    @Override
    public TensorData tensor(String name) {
        TensorData t = created.get(name);
        if (t == null) throw new MissingWeightException(name + "' (not created yet: its shape is unknown");
        return t;
    }

    @Override
    public TensorData tensor(String name, long[] shape) {
        return created.computeIfAbsent(name, n -> create(n, shape));
    }

    private TensorData create(String name, long[] shape) {
        int count = Math.toIntExact(TensorData.numElements(shape));
        float[] v = new float[count];
        if (name.endsWith("norm.weight")) {
            java.util.Arrays.fill(v, 1f);
        } else if (!name.endsWith(".bias")) {
            ModelConfig cfg = name.startsWith("f.") && spec.compressor != null ? spec.compressor : spec.decoder;
            double std = RESIDUAL_OUT.matcher(name).matches() ? 1 / Math.sqrt(cfg.dim) / cfg.nLayer : Math.sqrt(2.0 / 5 / cfg.dim);
            for (int i = 0; i < count; i++) v[i] = (float) (random.nextGaussian() * std);
        }
        return TensorData.ofFloats(v, shape);
    }
}
