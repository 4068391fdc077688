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
            tokens = g.pad(tokens, g.constInt64(0, 0, 0, 0, 0, 1, 0, 0), c.scalar(0));           // [B,K+1,l,fx]
            Value seq = CatSequence.assemble(g, tokens, head);
            Value[] rope = attention.rope().tables(l + 1);
            Value y = attention.forward(seq, rope[0], rope[1], new CatAttention(c.attentionForm));
            return finalProj.forward(CatSequence.tokenOutputs(g, y, l, 1));
        }
    }
}
