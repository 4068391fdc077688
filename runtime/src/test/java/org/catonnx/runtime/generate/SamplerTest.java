package org.catonnx.runtime.generate;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplerTest {
    // probabilities at T=1: softmax of log(p) = p
    static final float[] LOGITS = {(float) Math.log(0.4), (float) Math.log(0.3), (float) Math.log(0.2), (float) Math.log(0.1), 5f};

    static GenerationConfig sampling(double t, int k, double p, long seed) {
        return GenerationConfig.greedy(1).withSampling(t, k, p, seed);
    }

    @Test
    void greedyPicksArgmaxOverRealVocabularyOnly() {
        // index 4 is a padded row with a huge logit: never picked with vocab 4
        assertEquals(0, new Sampler(GenerationConfig.greedy(1), 4).pick(LOGITS, 0));
    }

    @Test
    void topKKeepsOnlyTheKBest() {
        double[] d = new Sampler(sampling(1, 2, 1, 0), 4).distribution(LOGITS, 0);
        assertEquals(0.4 / 0.7, d[0], 1e-6);
        assertEquals(0.3 / 0.7, d[1], 1e-6);
        assertEquals(0, d[2]);
        assertEquals(0, d[3]);
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        double[] d = new Sampler(sampling(1, 0, 0.65, 0), 4).distribution(LOGITS, 0);
        assertEquals(0.4 / 0.7, d[0], 1e-6);   // 0.4 + 0.3 >= 0.65
        assertEquals(0.3 / 0.7, d[1], 1e-6);
        assertEquals(0, d[2] + d[3]);
        double[] one = new Sampler(sampling(1, 0, 0.1, 0), 4).distribution(LOGITS, 0);
        assertEquals(1.0, one[0], 1e-9);       // at least one token survives
    }

    @Test
    void temperatureSharpensAndFlattens() {
        double[] cold = new Sampler(sampling(0.5, 0, 1, 0), 4).distribution(LOGITS, 0);
        double[] hot = new Sampler(sampling(2, 0, 1, 0), 4).distribution(LOGITS, 0);
        assertTrue(cold[0] > 0.4 && hot[0] < 0.4);
    }

    @Test
    void fixedSeedIsReproducibleAndSupportIsRespected() {
        Sampler a = new Sampler(sampling(1, 3, 1, 42), 4), b = new Sampler(sampling(1, 3, 1, 42), 4);
        Set<Long> seen = new HashSet<>();
        int[] counts = new int[4];
        for (int i = 0; i < 4000; i++) {
            long x = a.pick(LOGITS, 0);
            assertEquals(x, b.pick(LOGITS, 0));
            seen.add(x);
            counts[(int) x]++;
        }
        assertEquals(Set.of(0L, 1L, 2L), seen);  // top-3 support
        assertEquals(0.4 / 0.9, counts[0] / 4000.0, 0.03);
    }

    @Test
    void badSettingsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> sampling(-1, 0, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> sampling(1, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> GenerationConfig.greedy(0));
        assertThrows(IllegalArgumentException.class, () -> sampling(1, 0, 1, 0).withInGraphLoop(true));
    }
}
