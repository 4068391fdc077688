package org.catonnx.runtime.generate;

import java.util.Arrays;
import java.util.Random;

/**
 * Picks the next token from a row of logits over the real vocabulary (padded rows excluded):
 * argmax, or softmax(logits / T) restricted to the top-k and then to the smallest set whose
 * probability reaches top-p (the usual nucleus rule, keeping at least one token).
 */
public final class Sampler {
    private final GenerationConfig cfg;
    private final int vocab;
    private final Random random;

    public Sampler(GenerationConfig cfg, int vocabSize) {
        this.cfg = cfg;
        this.vocab = vocabSize;
        this.random = new Random(cfg.seed);
    }

    /** logits[offset .. offset+vocab) */
    public long pick(float[] logits, int offset) {
        if (cfg.greedy()) return argmax(logits, offset, vocab);
        double[] p = distribution(logits, offset);
        double u = random.nextDouble(), acc = 0;
        int last = -1;
        for (int i = 0; i < vocab; i++) {
            if (p[i] == 0) continue;
            acc += p[i];
            last = i;
            if (u < acc) return i;
        }
        return last;
    }

    public static long argmax(float[] logits, int offset, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (logits[offset + i] > logits[offset + best]) best = i;
        return best;
    }

    /** The sampling distribution after temperature, top-k and top-p (exposed for tests). */
    public double[] distribution(float[] logits, int offset) {
        double[] z = new double[vocab];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            z[i] = logits[offset + i] / cfg.temperature;
            max = Math.max(max, z[i]);
        }
        Integer[] order = new Integer[vocab];
        for (int i = 0; i < vocab; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Double.compare(z[b], z[a]));
        int keep = cfg.topK > 0 ? Math.min(cfg.topK, vocab) : vocab;
        double[] p = new double[vocab];
        double sum = 0;
        for (int r = 0; r < keep; r++) {
            p[order[r]] = Math.exp(z[order[r]] - max);
            sum += p[order[r]];
        }
        for (int r = 0; r < keep; r++) p[order[r]] /= sum;
        if (cfg.topP < 1) {
            double acc = 0;
            int r = 0;
            for (; r < keep; r++) {
                acc += p[order[r]];
                if (acc >= cfg.topP) {
                    r++;
                    break;
                }
            }
            double kept = 0;
            for (int i = 0; i < keep; i++) {
                if (i >= r) p[order[i]] = 0;
                else kept += p[order[i]];
            }
            for (int i = 0; i < r; i++) p[order[i]] /= kept;
        }
        return p;
    }
}
