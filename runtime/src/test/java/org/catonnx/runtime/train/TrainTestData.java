package org.catonnx.runtime.train;

import org.catonnx.models.ModelConfig;
import org.catonnx.models.ModelSpec;

import java.util.Random;

/** Tiny models and a synthetic corpus with long-range copy structure, for trainer tests. */
final class TrainTestData {
    private TrainTestData() {}

    static final int VOCAB = 32;
    /** symbols actually used by the corpus */
    static final int ALPHABET = 16;
    static final int PERIOD = 16;
    static final int REPEATS = 4;

    /**
     * Segments of PERIOD random symbols, each written REPEATS times: after the first period every token is a copy of
     * the token PERIOD positions back (two chunks of 8 earlier), so a CAT must read its compressed chunks to predict.
     * Unigram loss: ln(16) = 2.77; a model that copies gets about (1/REPEATS) * ln(16) = 0.69.
     */
    static int[] copyCorpus(int segments, long seed) {
        Random r = new Random(seed);
        int[] out = new int[segments * PERIOD * REPEATS];
        int k = 0;
        for (int s = 0; s < segments; s++) {
            int[] seg = new int[PERIOD];
            for (int i = 0; i < PERIOD; i++) seg[i] = 1 + r.nextInt(ALPHABET);
            for (int rep = 0; rep < REPEATS; rep++) for (int i = 0; i < PERIOD; i++) out[k++] = seg[i];
        }
        return out;
    }

    static ModelConfig.Builder base(int dim, int heads, int layers) {
        return new ModelConfig.Builder().blockSize(64).vocabSize(VOCAB).paddedVocabSize(VOCAB).nLayer(layers).nHead(heads).dim(dim)
                .intermediateSize(2 * dim);
    }

    static ModelSpec dense() {
        return ModelSpec.transformer(base(32, 2, 2).build());
    }

    static ModelSpec cat(int chunk) {
        return ModelSpec.cat(base(64, 2, 2).chunkSize(chunk).dimFx(64).build(), base(32, 2, 1).chunkSize(chunk).dimFx(64).build());
    }

    static ModelSpec catAdaptive(int chunk) {
        return ModelSpec.catAdaptive(base(64, 2, 2).chunkSize(chunk).dimFx(64).build(), base(32, 2, 1).chunkSize(chunk).dimFx(64).build());
    }
}
