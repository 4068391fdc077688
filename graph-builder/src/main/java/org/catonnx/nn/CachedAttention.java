package org.catonnx.nn;

import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Value;

/**
 * Attention for one decode step: the new positions see every cached key (earlier compressed
 * chunks and the current chunk's tokens for CAT, all earlier tokens for dense) and each other
 * causally. Past keys and values are [B,Hkv,P,hd]; after attend(), present() holds the new
 * positions' keys and values for the caller to append where they belong.
 */
public final class CachedAttention implements AttentionCore {
    private final Value pastK;
    private final Value pastV;
    private Value newK;
    private Value newV;

    /** pastK/pastV: [B,Hkv,P,hd] (P may be 0). */
    public CachedAttention(Value pastK, Value pastV) {
        this.pastK = pastK;
        this.pastV = pastV;
    }

    @Override
    public Value attend(BuildContext c, Value q, Value k, Value v) {
        Graph g = c.g;
        newK = k;
        newV = v;
        Value keys = g.concat(2, pastK, k), values = g.concat(2, pastV, v);
        Value qg = AttentionCore.groupQueries(g, q, (int) k.dim(1).size());              // [B,Hkv,rep,n,hd]
        Value s = AttentionCore.scores(c, qg, AttentionCore.transposeLast(g, AttentionCore.groupKeys(g, keys)));
        Value past = g.shape(pastK, 2);
        Value i = g.unsqueeze(AttentionCore.range(g, g.shape(q, 2)), 1);
        Value j = g.unsqueeze(AttentionCore.range(g, g.shape(keys, 2)), 0);
        Value allowed = g.lessOrEqual(j, g.add(i, past));                                // past: all; new: causal
        s = g.add(s, AttentionCore.bias(c, allowed));
        Value y = g.matMul(AttentionCore.probabilities(c, s), AttentionCore.groupKeys(g, values));
        return AttentionCore.ungroup(g, y);
    }

    /** Keys of the new positions [B,Hkv,n,hd] (after RoPE). */
    public Value newKeys() { return newK; }
    public Value newValues() { return newV; }
}
