package org.catonnx.nn;

import org.catonnx.models.ModelConfig;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Value;

import java.util.List;
import java.util.function.IntFunction;

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

    /**
     * The block for a decode step with each residual add folded into the norm after it: the
     * block's input is residual + pending (residual null at the first block, where pending is the
     * input). Returns {pending, residual} for the next block; their sum is the block's output.
     */
    public Value[] forwardSkip(Value pending, Value residual, Mixer mixer) {
        try (Graph.Scope s = c.g.scope(name)) {
            Value[] in = residual == null ? new Value[] {attentionNorm.forward(pending), pending} : attentionNorm.forwardSkip(pending, residual);
            Value[] h = ffnNorm.forwardSkip(mixer.apply(in[0]), in[1]);
            return new Value[] {feedForward.forward(h[0]), h[1]};
        }
    }

    /**
     * Runs the blocks in order on x, block i mixing with mixers.apply(i). With the fused norm each
     * residual add is folded into the norm after it (one SkipSimplifiedLayerNormalization per
     * norm); every path that must agree token for token (full forward, step and fused decoding)
     * runs its layers through here, so they round alike in 16-bit.
     */
    public static Value stack(List<TransformerBlock> blocks, Value x, IntFunction<Mixer> mixers) {
        Value pending = x, residual = null;
        for (int i = 0; i < blocks.size(); i++) {
            Value[] r = blocks.get(i).forwardSkip(pending, residual, mixers.apply(i));
            pending = r[0];
            residual = r[1];
        }
        return residual == null ? pending : blocks.get(0).c.g.add(residual, pending);
    }

    /** {@link #stack} with every block's standard attention under one core; cos/sin the RoPE tables. */
    public static Value stack(List<TransformerBlock> blocks, Value x, Value cos, Value sin, AttentionCore core) {
        return stack(blocks, x, i -> h -> blocks.get(i).attention().forward(h, cos, sin, core));
    }

    /** With the standard attention under the given core; cos/sin are the RoPE tables of the positions. */
    public Value forward(Value x, Value cos, Value sin, AttentionCore core) {
        return forward(x, h -> attention().forward(h, cos, sin, core));
    }
}
