package org.catonnx.nn;

import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Value;

/**
 * Multi-head attention with one fused wqkv projection, grouped-query heads, optional qk-norm
 * (RMSNorm over head_dim before RoPE) and wo. Works on [B, P, D] or blocked [B, K, S, D]
 * inputs; what is masked is decided by the AttentionCore.
 */
public final class Attention {
    private final BuildContext c;
    private final int dim;
    private final int nHead;
    private final int nKvHead;
    private final int headDim;
    private final Linear wqkv;
    private final Linear wo;
    private final RmsNorm qNorm;
    private final RmsNorm kNorm;
    private final Rope rope;

    public Attention(BuildContext c, String name, int dim, int nHead, int nKvHead, int headDim,
                     boolean qkNorm, double normEps, int ropeNElem, double ropeBase) {
        this.c = c;
        this.dim = dim;
        this.nHead = nHead;
        this.nKvHead = nKvHead;
        this.headDim = headDim;
        wqkv = new Linear(c, name + ".wqkv", dim, (nHead + 2 * nKvHead) * headDim, false);
        wo = new Linear(c, name + ".wo", nHead * headDim, dim, false);
        qNorm = qkNorm ? new RmsNorm(c, name + ".q_norm", headDim, normEps) : null;
        kNorm = qkNorm ? new RmsNorm(c, name + ".k_norm", headDim, normEps) : null;
        rope = new Rope(c, ropeNElem, ropeBase);
    }

    public Rope rope() { return rope; }

    /** Projected heads, RoPE applied: {q [B,H,..,P,hd], k [B,Hkv,..,P,hd], v}. cos/sin are [P, nElem]. */
    public Value[] project(Value x, Value cos, Value sin) {
        Graph g = c.g;
        Value[] qkv = g.split(wqkv.forward(x), -1, (long) nHead * headDim, (long) nKvHead * headDim, (long) nKvHead * headDim);
        Value q = heads(qkv[0], nHead), k = heads(qkv[1], nKvHead), v = heads(qkv[2], nKvHead);
        if (qNorm != null) {
            q = qNorm.forward(q);
            k = kNorm.forward(k);
        }
        q = toHeadMajor(q);
        k = toHeadMajor(k);
        v = toHeadMajor(v);
        return new Value[] {rope.apply(q, cos, sin), rope.apply(k, cos, sin), v};
    }

    /** [.., P, H*hd] -> [.., P, H, hd] */
    private Value heads(Value x, int n) {
        long[] t = new long[x.rank() + 1];
        t[t.length - 2] = n;
        t[t.length - 1] = headDim;
        return c.g.reshape(x, t);
    }

    /** [B, .., P, H, hd] -> [B, H, .., P, hd] */
    private Value toHeadMajor(Value x) {
        int r = x.rank();
        long[] perm = new long[r];
        perm[0] = 0;
        perm[1] = r - 2;
        for (int i = 2; i < r - 1; i++) perm[i] = i - 1;
        perm[r - 1] = r - 1;
        return c.g.transpose(x, perm);
    }

    /** [B, H, .., P, hd] -> [B, .., P, H*hd] */
    public Value merge(Value y) {
        int r = y.rank();
        long[] perm = new long[r];
        perm[0] = 0;
        for (int i = 1; i < r - 2; i++) perm[i] = i + 1;
        perm[r - 2] = 1;
        perm[r - 1] = r - 1;
        Value t = c.g.transpose(y, perm);
        long[] shape = new long[r - 1];
        shape[r - 2] = (long) nHead * headDim;
        return c.g.reshape(t, shape);
    }

    public Value forward(Value x, Value cos, Value sin, AttentionCore core) {
        try (Graph.Scope s = c.g.scope("attn")) {
            Value[] qkv = project(x, cos, sin);
            return wo.forward(merge(core.attend(c, qkv[0], qkv[1], qkv[2])));
        }
    }

    /**
     * One decode position per row with ONNX Runtime's fused operators: x [B,1,D] at RoPE position
     * {@code position} ([1] int64), fixed-size cache buffers [B,Hkv,slots,hd] whose first
     * seqlensK[b] (int32 [B]) entries are valid; the new key and value go to slot seqlensK[b] and
     * the position attends to slots 0..seqlensK[b]. total is seqlensK + 1 as a 1-element int32.
     * ropeHalf: {@link Rope#halfTables}. Attention form CUSTOM: our CatDecodeAttention instead of
     * GroupQueryAttention (total unused).
     * @return {attention output after wo [B,1,D], present key buffer, present value buffer}
     */
    public Value[] decodeFused(Value x, Value position, Value[] ropeHalf, Value pastK, Value pastV, Value seqlensK, Value total) {
        Graph g = c.g;
        try (Graph.Scope s = g.scope("attn")) {
            float scale = (float) (1.0 / Math.sqrt(headDim));
            if (c.options.attentionForm == AttentionForm.CUSTOM && qNorm == null) {
                // our operator splits the packed projection and applies RoPE itself: no Split, no RotaryEmbedding
                Value[] a = g.catDecodeAttention(wqkv.forward(x), pastK, pastV, seqlensK, position, ropeHalf[0], ropeHalf[1],
                        nHead, nKvHead, scale);
                return new Value[] {wo.forward(a[0]), a[1], a[2]};
            }
            Value[] qkv = g.split(wqkv.forward(x), -1, (long) nHead * headDim, (long) nKvHead * headDim, (long) nKvHead * headDim);
            Value q = qkv[0], k = qkv[1];
            if (qNorm != null) {
                q = c.g.reshape(qNorm.forward(heads(q, nHead)), 0, 0, (long) nHead * headDim);
                k = c.g.reshape(kNorm.forward(heads(k, nKvHead)), 0, 0, (long) nKvHead * headDim);
            }
            q = g.rotaryEmbedding(q, position, ropeHalf[0], ropeHalf[1], nHead, rope.nElem());
            k = g.rotaryEmbedding(k, position, ropeHalf[0], ropeHalf[1], nKvHead, rope.nElem());
            // the custom form reads the valid length on the device (CUDA-graph replays attend to
            // exactly the valid slots); GroupQueryAttention takes total from the host
            Value[] a = c.options.attentionForm == AttentionForm.CUSTOM
                    ? g.catDecodeAttention(q, k, qkv[2], pastK, pastV, seqlensK, nHead, nKvHead, scale)
                    : g.groupQueryAttention(q, k, qkv[2], pastK, pastV, seqlensK, total, nHead, nKvHead, scale);
            return new Value[] {wo.forward(a[0]), a[1], a[2]};
        }
    }

    public Linear wo() { return wo; }
    public int nHead() { return nHead; }
    public int nKvHead() { return nKvHead; }
    public int headDim() { return headDim; }
    public int dim() { return dim; }
}
