package org.catonnx.nn;

import org.catonnx.models.ModelConfig;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Value;

/**
 * Pre-norm residual block (CAT.md section 2): h = x + mix(norm(x)); out = h + mlp(norm(h)).
 * The token mixer is passed per call: standard attention with some mask, a cached decode
 * step, or a CAT layer.
 */
public final class TransformerBlock {
    /** Maps the normed hidden states to the attention output. */
    public interface Mixer {
        Value apply(Value normed);
    }

    private final BuildContext c;
    private final String name;
    private final ModelConfig cfg;
    private final RmsNorm attentionNorm;
    private final RmsNorm ffnNorm;
    private final SwiGlu feedForward;
    private Attention attention;

    public TransformerBlock(BuildContext c, String name, ModelConfig cfg) {
        this.c = c;
        this.name = name;
        this.cfg = cfg;
        attentionNorm = new RmsNorm(c, name + ".attention_norm", cfg.dim, cfg.normEps);
        ffnNorm = new RmsNorm(c, name + ".ffn_norm", cfg.dim, cfg.normEps);
        feedForward = new SwiGlu(c, name + ".feed_forward", cfg.dim, cfg.intermediateSize);
    }

    public String name() { return name; }

    /** The block's standard attention (layers.i.attention.*). */
    public Attention attention() {
        if (attention == null) {
            attention = new Attention(c, name + ".attention", cfg.dim, cfg.nHead, cfg.nLocalHeads, cfg.headDim,
                    cfg.useQkNorm, cfg.normEps, cfg.ropeNElem, cfg.ropeBase);
        }
        return attention;
    }

    public Value forward(Value x, Mixer mixer) {
        try (Graph.Scope s = c.g.scope(name)) {
            Value h = c.g.add(x, mixer.apply(attentionNorm.forward(x)));
            return c.g.add(h, feedForward.forward(ffnNorm.forward(h)));
        }
    }

    /** With the standard attention under the given core; cos/sin are the RoPE tables of the positions. */
    public Value forward(Value x, Value cos, Value sin, AttentionCore core) {
        return forward(x, h -> attention().forward(h, cos, sin, core));
    }
}
