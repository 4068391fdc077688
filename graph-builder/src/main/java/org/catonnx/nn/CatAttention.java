package org.catonnx.nn;

import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Value;

/**
 * CAT attention over the interleaved sequence laid out as blocks [B,H,K1,S,hd]: block k's
 * first vector is f(c_{k-1}) (or the dummy), a query sees every earlier block's first vector
 * and its own block causally (CAT.md section 3). Three interchangeable forms; see AttentionForm.
 */
public final class CatAttention implements AttentionCore {
    private final AttentionForm form;

    public CatAttention(AttentionForm form) {
        this.form = form;
    }

    @Override
    public Value attend(BuildContext c, Value q, Value k, Value v) {
        switch (form) {
            case EFFICIENT: return efficient(c, q, k, v);
            case MASKED: return masked(c, q, k, v);
            case CUSTOM: return custom(c, q, k, v);
            default: throw new AssertionError(form);
        }
    }

    /** Scores against K1 compressed keys plus S local keys per query: memory N*(K+l), not N^2. */
    private static Value efficient(BuildContext c, Value q, Value k, Value v) {
        Graph g = c.g;
        int s = (int) q.dim(-2).size();
        Value qg = AttentionCore.groupQueries(g, q, (int) k.dim(1).size()); // [B,Hkv,rep,K1,S,hd]
        Value kg = AttentionCore.groupKeys(g, k);                          // [B,Hkv,1,K1,S,hd]
        Value vg = AttentionCore.groupKeys(g, v);
        // own block, causal
        Value local = g.add(AttentionCore.scores(c, qg, AttentionCore.transposeLast(g, kg)), AttentionCore.causalBias(c, s));
        // first vector of every block, visible to strictly later blocks
        Value kc = g.squeeze(g.slice(kg, 4, 0, 1), 4);                       // [B,Hkv,1,K1,hd]
        Value vc = g.unsqueeze(g.squeeze(g.slice(vg, 4, 0, 1), 4), 3);       // [B,Hkv,1,1,K1,hd]
        Value kcT = g.unsqueeze(AttentionCore.transposeLast(g, kc), 3);      // [B,Hkv,1,1,hd,K1]
        Value blocks = AttentionCore.range(g, g.shape(q, 2));
        Value earlier = g.less(g.unsqueeze(blocks, 0, 1), g.unsqueeze(blocks, 1, 2)); // [K1,1,K1]: j < k
        Value compressed = g.add(AttentionCore.scores(c, qg, kcT), AttentionCore.bias(c, earlier));
        // one softmax over both
        Value p = AttentionCore.probabilities(c, g.concat(-1, compressed, local));
        Value pc = g.slice(p, -1, 0, -s);
        Value pl = g.slice(p, -1, -s, Long.MAX_VALUE);
        Value y = g.add(g.matMul(pl, vg), g.matMul(pc, vc));
        return AttentionCore.ungroup(g, y);
    }

    /** The same function on the flattened sequence with an N x N mask (N = K1*S). */
    private static Value masked(BuildContext c, Value q, Value k, Value v) {
        Graph g = c.g;
        int s = (int) q.dim(-2).size();
        int hd = (int) q.dim(-1).size();
        Value qf = AttentionCore.groupQueries(g, g.reshape(q, 0, 0, -1, hd), (int) k.dim(1).size()); // [B,Hkv,rep,N,hd]
        Value kf = AttentionCore.groupKeys(g, g.reshape(k, 0, 0, -1, hd));
        Value vf = AttentionCore.groupKeys(g, g.reshape(v, 0, 0, -1, hd));
        Value n = g.shape(qf, -2);
        Value pos = AttentionCore.range(g, n);
        Value sConst = g.scalarInt64(s);
        Value qi = g.unsqueeze(pos, 1), kj = g.unsqueeze(pos, 0);
        Value causal = g.lessOrEqual(kj, qi);
        Value sameBlock = g.equal(g.div(qi, sConst), g.div(kj, sConst));
        Value firstOfBlock = g.equal(g.mod(kj, sConst), g.scalarInt64(0));
        Value allowed = g.and(causal, g.or(sameBlock, firstOfBlock));
        Value scores = g.add(AttentionCore.scores(c, qf, AttentionCore.transposeLast(g, kf)), AttentionCore.bias(c, allowed));
        Value y = g.matMul(AttentionCore.probabilities(c, scores), vf); // [B,Hkv,rep,N,hd]
        Value out = AttentionCore.ungroup(g, y);                          // [B,H,N,hd]
        return g.reshape(out, 0, 0, -1, s, hd);
    }

    /** Our fused operator, on the flattened layout [B,H,N,hd]. */
    private static Value custom(BuildContext c, Value q, Value k, Value v) {
        Graph g = c.g;
        int s = (int) q.dim(-2).size();
        int hd = (int) q.dim(-1).size();
        Value y = g.catAttention(g.reshape(q, 0, 0, -1, hd), g.reshape(k, 0, 0, -1, hd), g.reshape(v, 0, 0, -1, hd),
                s, (float) (1.0 / Math.sqrt(hd)));
        return g.reshape(y, 0, 0, -1, s, hd);
    }
}
