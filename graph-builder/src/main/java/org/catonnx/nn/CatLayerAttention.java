package org.catonnx.nn;

import org.catonnx.models.ModelConfig;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Value;

/**
 * CAT as a drop-in attention layer (CAT.md section 6): chunks of the normed hidden states are
 * compressed by one Linear (l*dim -> dim_fx, with bias), interleaved with expand(x), attended
 * with the CAT mask in dim_fx (heads of 64) and projected back to dim.
 * Reference quirk kept: RoPE covers only the outer config's rope_n_elem dims of each head.
 */
public final class CatLayerAttention {
    private final BuildContext c;
    private final ModelConfig cfg;
    private final Linear expand;
    private final Linear compressor;
    private final String dummyName;
    private final Attention attention;
    private final Linear finalProj;

    public CatLayerAttention(BuildContext c, String name, ModelConfig cfg) {
        this.c = c;
        this.cfg = cfg;
        int fx = cfg.dimFx, l = cfg.chunkSize;
        expand = new Linear(c, name + ".expand", cfg.dim, fx, false);
        compressor = new Linear(c, name + ".compressor", l * cfg.dim, fx, true);
        dummyName = name + ".dummy_fx.weight";
        int heads = fx / 64;
        attention = new Attention(c, name + ".attention", fx, heads, heads, 64, cfg.useQkNorm, cfg.normEps, cfg.ropeNElem, cfg.ropeBase);
        finalProj = new Linear(c, name + ".final_proj", fx, cfg.dim, false);
    }

    /** x: normed hidden states [B, L, dim] with L a multiple of the chunk size. */
    public Value forward(Value x) {
        Graph g = c.g;
        int l = cfg.chunkSize, fx = cfg.dimFx;
        try (Graph.Scope s = g.scope("cat_attn")) {
            Value fxs = compressor.forward(g.reshape(x, 0, -1, (long) l * cfg.dim));                 // [B,K,fx]
            Value b11 = g.concat(0, g.shape(x, 0), g.constInt64(1, 1));
            Value dummy = g.expand(g.reshape(c.param(dummyName, 1, fx), 1, 1, fx), b11);            // [B,1,fx]
            Value head = g.unsqueeze(g.concat(1, dummy, fxs), 2);                                   // [B,K+1,1,fx]
            Value tokens = g.reshape(expand.forward(x), 0, -1, l, fx);                              // [B,K,l,fx]
            // one block of zeros for the final summary block (Expand + Concat: CUDA has no bfloat16 Pad)
            Value zeros = g.expand(c.scalar(0), g.concat(0, g.shape(x, 0), g.constInt64(1, l, fx)));
            tokens = g.concat(1, tokens, zeros);                                                    // [B,K+1,l,fx]
            Value seq = CatSequence.assemble(g, tokens, head);
            Value[] rope = attention.rope().tables(l + 1);
            Value y = attention.forward(seq, rope[0], rope[1], new CatAttention(c.attentionForm));
            return finalProj.forward(CatSequence.tokenOutputs(g, y, l, 1));
        }
    }

    // ---- cached decoding (the reference has none for this variant; derived from the same mask)

    /** Keys/values of the dummy summary at local position 0, for a batch like batchLike [B, ...]: {k, v} [B,H,1,64]. */
    public Value[] dummyKeysValues(Value batchLike) {
        Graph g = c.g;
        try (Graph.Scope s = g.scope("cat_attn")) {
            Value dummy = g.expand(g.reshape(c.param(dummyName, 1, cfg.dimFx), 1, 1, cfg.dimFx),
                    g.concat(0, g.shape(batchLike, 0), g.constInt64(1, 1)));
            Value[] rope = Rope.rows(g, attention.rope().tables(cfg.chunkSize + 1), g.constInt64(0));
            Value[] qkv = attention.project(dummy, rope[0], rope[1]);
            return new Value[] {qkv[1], qkv[2]};
        }
    }

    /**
     * Tokens that do not complete their chunk: normed inputs x [B,n,dim] at local positions
     * [n] (1..l-1), seeing the cached compressed entries and the chunk's earlier tokens.
     * @return {output [B,n,dim], new keys, new values}
     */
    public Value[] tokens(Value x, Value positions, Value pastK, Value pastV) {
        Graph g = c.g;
        try (Graph.Scope s = g.scope("cat_attn")) {
            Value[] rope = Rope.rows(g, attention.rope().tables(cfg.chunkSize + 1), positions);
            CachedAttention a = new CachedAttention(pastK, pastV);
            Value y = attention.forward(expand.forward(x), rope[0], rope[1], a);
            return new Value[] {finalProj.forward(y), a.newKeys(), a.newValues()};
        }
    }

    /**
     * The token that completes a chunk: its output is that of the chunk's summary f(c)
     * (compressed from the chunk's normed inputs, earlier ones xs [B,l-1,dim] plus x [B,1,dim]),
     * which sits at local position 0 of the next block and sees every compressed entry.
     * @return {output [B,1,dim], summary key, summary value}
     */
    public Value[] chunkEnd(Value x, Value xs, Value ck, Value cv) {
        Graph g = c.g;
        try (Graph.Scope s = g.scope("cat_attn")) {
            Value chunk = g.reshape(g.concat(1, xs, x), 0, 1, (long) cfg.chunkSize * cfg.dim);
            Value f = compressor.forward(chunk);                                                    // [B,1,fx]
            Value[] rope = Rope.rows(g, attention.rope().tables(cfg.chunkSize + 1), g.constInt64(0));
            CachedAttention a = new CachedAttention(ck, cv);
            Value y = attention.forward(f, rope[0], rope[1], a);
            return new Value[] {finalProj.forward(y), a.newKeys(), a.newValues()};
        }
    }

    public int heads() { return attention.nHead(); }
}
