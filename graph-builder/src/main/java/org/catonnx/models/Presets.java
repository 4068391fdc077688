package org.catonnx.models;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Named model shapes: the paper's 12-layer configurations (dense dim 768; CAT decoder twice as
 * wide with a 3-layer compressor) and tiny ones for demos and tests.
 */
public final class Presets {
    private Presets() {}

    private static final Map<String, String> DESCRIPTIONS = new LinkedHashMap<>();

    static {
        DESCRIPTIONS.put("tiny-dense", "dense transformer, dim 64 x 2 layers, vocab 256, context 128");
        DESCRIPTIONS.put("tiny-cat", "CAT chunk 8, decoder 128 x 2, compressor 64 x 1, vocab 256, context 128");
        DESCRIPTIONS.put("tiny-adaptive", "adaptive CAT chunk <= 8, decoder 128 x 2, compressor 64 x 1, vocab 256, context 128");
        DESCRIPTIONS.put("tiny-hybrid", "CAT layers and dense layers CDCD, dim 64, dim_fx 128, chunk 8, vocab 256, context 128");
        DESCRIPTIONS.put("paper-dense", "the paper's dense baseline: dim 768 x 12, 12 heads, vocab 32000, context 2048");
        DESCRIPTIONS.put("paper-cat", "the paper's CAT: decoder 1536 x 12 (24 heads), compressor 768 x 3, chunk 8, context 2048");
    }

    public static Map<String, String> descriptions() {
        return DESCRIPTIONS;
    }

    /** @param chunk chunk size for CAT presets (0 = the preset's default) */
    public static ModelSpec get(String name, int chunk) {
        switch (name) {
            case "tiny-dense": return ModelSpec.transformer(tiny(64, 4, 128, 0, 0).build());
            case "tiny-cat": return ModelSpec.cat(tiny(128, 4, 128, or(chunk, 8), 128).build(), tiny(64, 2, 128, or(chunk, 8), 128).nLayer(1).build());
            case "tiny-adaptive": return ModelSpec.catAdaptive(tiny(128, 4, 128, or(chunk, 8), 128).build(), tiny(64, 2, 128, or(chunk, 8), 128).nLayer(1).build());
            case "tiny-hybrid": return ModelSpec.catLayer(tiny(64, 4, 128, or(chunk, 8), 128).nLayer(4).build(), "CDCD");
            case "paper-dense": return ModelSpec.transformer(paper(768, 12, 12, 0, 0).build());
            case "paper-cat": return ModelSpec.cat(paper(1536, 24, 12, or(chunk, 8), 1536).build(), paper(768, 12, 3, or(chunk, 8), 1536).build());
            default: throw new ConfigException("unknown preset '" + name + "' (known: " + String.join(", ", DESCRIPTIONS.keySet()) + ")");
        }
    }

    private static int or(int v, int dflt) {
        return v > 0 ? v : dflt;
    }

    private static ModelConfig.Builder tiny(int dim, int heads, int block, int chunk, int dimFx) {
        return new ModelConfig.Builder().blockSize(block).vocabSize(256).nLayer(2).nHead(heads).dim(dim).chunkSize(chunk).dimFx(dimFx);
    }

    private static ModelConfig.Builder paper(int dim, int heads, int layers, int chunk, int dimFx) {
        return new ModelConfig.Builder().blockSize(2048).vocabSize(32000).nLayer(layers).nHead(heads).dim(dim).chunkSize(chunk).dimFx(dimFx);
    }
}
