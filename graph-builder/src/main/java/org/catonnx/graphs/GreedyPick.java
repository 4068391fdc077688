package org.catonnx.graphs;

import org.catonnx.onnx.Graph;
import org.catonnx.onnx.TensorData;
import org.catonnx.onnx.Value;

import java.util.Arrays;

/**
 * The greedy token: argmax over the real vocabulary (padded rows excluded), first index on ties
 * as ONNX ArgMax and torch.argmax. Taken in two stages over groups of a row because ONNX Runtime's
 * CUDA ArgMax walks a whole row with one thread: over a 32,000-word vocabulary that alone took
 * ~1.5 ms per decoding step on the H200, more than the rest of the dense model's step. Stage one
 * takes the argmax inside each group of k logits (many short rows), stage two the first group
 * holding the largest of those maxima; together the first index of the row's maximum.
 */
final class GreedyPick {
    private static final int[] GROUPS = {128, 256, 64, 32, 16};

    private GreedyPick() {}

    /** logits [B, padded vocab] (float) -> token ids [B] (int64). */
    static Value pick(Graph g, Value logits, int vocab) {
        long padded = logits.dim(1).size();
        int k = groupSize(padded);
        if (k == 0) return g.argMax(g.slice(logits, 1, 0, vocab), 1, false);
        Value x = logits;
        if (vocab < padded) {
            float[] mask = new float[(int) padded];
            Arrays.fill(mask, vocab, mask.length, Float.NEGATIVE_INFINITY);
            x = g.add(x, g.constant(TensorData.ofFloats(mask, padded)));
        }
        long groups = padded / k;
        Value grouped = g.reshape(x, 0, groups, k);                              // [B, G, k]
        Value inner = g.argMax(grouped, 2, true);                                // [B, G, 1]
        Value maxima = g.squeeze(g.gatherElements(grouped, inner, 2), 2);        // [B, G]
        Value group = g.argMax(maxima, 1, true);                                 // [B, 1]
        Value within = g.gatherElements(g.squeeze(inner, 2), group, 1);          // [B, 1]
        return g.squeeze(g.add(g.mul(group, g.constInt64(k)), within), 1);
    }

    /** A group length dividing the row into at least two groups, or 0 when none does. */
    private static int groupSize(long padded) {
        for (int k : GROUPS) if (padded % k == 0 && padded / k >= 2) return k;
        return 0;
    }
}
