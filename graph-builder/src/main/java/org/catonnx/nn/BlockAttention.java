package org.catonnx.nn;

import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Value;

/** Bidirectional attention inside each block, [B,H,K,S,hd]: the compressor's (no mask). */
public final class BlockAttention implements AttentionCore {
    @Override
    public Value attend(BuildContext c, Value q, Value k, Value v) {
        Graph g = c.g;
        int kvHeads = (int) k.dim(1).size();
        Value qg = AttentionCore.groupQueries(g, q, kvHeads);
        Value s = AttentionCore.scores(c, qg, AttentionCore.transposeLast(g, AttentionCore.groupKeys(g, k)));
        Value y = g.matMul(AttentionCore.probabilities(c, s), AttentionCore.groupKeys(g, v));
        return AttentionCore.ungroup(g, y);
    }
}
