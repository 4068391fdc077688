package org.catonnx.nn;

import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Value;

/** Standard causal attention over [B,H,T,hd] (the dense transformer and dense layers of hybrids). */
public final class CausalAttention implements AttentionCore {
    @Override
    public Value attend(BuildContext c, Value q, Value k, Value v) {
        Graph g = c.g;
        int kvHeads = (int) k.dim(1).size();
        Value qg = AttentionCore.groupQueries(g, q, kvHeads);
        Value kT = AttentionCore.transposeLast(g, AttentionCore.groupKeys(g, k));
        Value s = AttentionCore.scores(c, qg, kT);
        Value n = g.shape(q, -2);
        Value r = AttentionCore.range(g, n);
        Value allowed = g.lessOrEqual(g.unsqueeze(r, 0), g.unsqueeze(r, 1));
        s = g.add(s, AttentionCore.bias(c, allowed));
        Value y = g.matMul(AttentionCore.probabilities(c, s), AttentionCore.groupKeys(g, v));
        return AttentionCore.ungroup(g, y);
    }
}
