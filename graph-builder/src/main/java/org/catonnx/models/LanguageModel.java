package org.catonnx.models;

import org.catonnx.nn.BuildContext;
import org.catonnx.onnx.Value;

/** A model's forward pass as graph nodes: token ids [B, T] (int64) to logits [B, T, V]. */
public interface LanguageModel {
    Value forward(Value inputIds);

    /**
     * The model of a spec. chunk is the chunk size to build for: adaptive CAT takes any power
     * of two up to its trained size; other variants need their own chunk size (or 0 = default).
     */
    static LanguageModel of(ModelSpec spec, BuildContext c, int chunk) {
        int l = chunk == 0 ? spec.chunkSize() : chunk;
        switch (spec.variant) {
            case TRANSFORMER:
                return new DenseLm(c, spec.decoder);
            case CAT:
                if (l != spec.chunkSize()) {
                    throw new ConfigException("this CAT model was trained with chunk size " + spec.chunkSize() + "; " + l
                            + " needs an adaptive model");
                }
                return new CatLm(c, spec, l);
            case CAT_ADAPTIVE:
                if (l < 1 || l > spec.chunkSize() || Integer.bitCount(l) != 1) {
                    throw new ConfigException("adaptive CAT serves chunk sizes 1, 2, 4 .. " + spec.chunkSize() + "; got " + l);
                }
                return new CatLm(c, spec, l);
            case CAT_LAYER:
                if (l != spec.chunkSize()) throw new ConfigException("this CAT-layer model has chunk size " + spec.chunkSize() + ", got " + l);
                return new CatLayerLm(c, spec);
            default:
                throw new AssertionError(spec.variant);
        }
    }
}
