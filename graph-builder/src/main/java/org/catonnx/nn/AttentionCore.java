package org.catonnx.nn;

import org.catonnx.onnx.Graph;
import org.catonnx.onnx.TensorData;
import org.catonnx.onnx.Value;

/**
 * The replaceable middle of attention: q [B,H,...,P,hd], k and v [B,Hkv,...,P,hd] after RoPE,
 * to y [B,H,...,P,hd]. Grouped-query heads are handled by viewing q as [B,Hkv,rep,...] and
 * letting MatMul broadcast k and v over rep, so kv heads are never copied.
 */
public interface AttentionCore {
    Value attend(BuildContext c, Value q, Value k, Value v);

    /** Positions that nothing may attend to get this additive bias. */
    double MASKED = Double.NEGATIVE_INFINITY;

    /** q [B,H,rest...] -> [B,Hkv,rep,rest...]; rest may start with one dynamic dim. */
    static Value groupQueries(Graph g, Value q, int kvHeads) {
        int h = (int) q.dim(1).size();
        long[] target = new long[q.rank() + 1];
        target[0] = 0;
        target[1] = kvHeads;
        target[2] = h / kvHeads;
        target[3] = -1;
        for (int i = 3; i < q.rank(); i++) target[i + 1] = q.dim(i).size();
        return g.reshape(q, target);
    }

    /** y [B,Hkv,rep,rest...] -> [B,H,rest...]. */
    static Value ungroup(Graph g, Value y) {
        long h = y.dim(1).size() * y.dim(2).size();
        long[] target = new long[y.rank() - 1];
        target[0] = 0;
        target[1] = h;
        target[2] = -1;
        for (int i = 4; i < y.rank(); i++) target[i - 1] = y.dim(i).size();
        return g.reshape(y, target);
    }

    /** k [B,Hkv,rest...] -> [B,Hkv,1,rest...] to broadcast over the query group. */
    static Value groupKeys(Graph g, Value k) {
        return g.unsqueeze(k, 2);
    }

    /** Swaps the last two axes. */
    static Value transposeLast(Graph g, Value x) {
        long[] perm = new long[x.rank()];
        for (int i = 0; i < perm.length; i++) perm[i] = i;
        perm[perm.length - 1] = perm.length - 2;
        perm[perm.length - 2] = perm.length - 1;
        return g.transpose(x, perm);
    }

    /** q k^T * scale, in the accumulation precision. */
    static Value scores(BuildContext c, Value q, Value kT) {
        Graph g = c.g;
        double scale = 1.0 / Math.sqrt(q.dim(-1).size());
        Value s = g.cast(g.matMul(q, kT), c.accumulate());
        return g.mul(s, c.scalarAcc(scale));
    }

    /** Softmax over the last axis in float32, back in the model precision. */
    static Value probabilities(BuildContext c, Value scores) {
        return c.g.cast(c.g.softmax(scores, -1), c.dtype);
    }

    /** Additive bias: 0 where allowed, -inf elsewhere. */
    static Value bias(BuildContext c, Value allowed) {
        return c.g.where(allowed, c.scalarAcc(0), c.scalarAcc(MASKED));
    }

    /** A static [n, n] causal bias (key j visible to query i iff j <= i). */
    static Value causalBias(BuildContext c, int n) {
        float[] b = new float[n * n];
        for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) b[i * n + j] = Float.NEGATIVE_INFINITY;
        return c.g.constant(TensorData.ofFloats(b, n, n).castTo(c.accumulate()));
    }

    /** Range 0..n-1 as int64, n a 1-element int64 tensor. */
    static Value range(Graph g, Value n) {
        return g.range(g.scalarInt64(0), g.squeeze(n, 0), g.scalarInt64(1));
    }
}
