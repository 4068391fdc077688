package org.catonnx.models;

import org.catonnx.nn.BuildContext;
import org.catonnx.nn.CatLayerAttention;
import org.catonnx.nn.CausalAttention;
import org.catonnx.nn.Embedding;
import org.catonnx.nn.Linear;
import org.catonnx.nn.RmsNorm;
import org.catonnx.nn.Rope;
import org.catonnx.nn.TransformerBlock;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Value;

import java.util.ArrayList;
import java.util.List;

/**
 * A transformer whose attention layers are CAT layers (C) or dense causal attention (D) by a
 * layer pattern. The reference requires T == block_size; here any T works: the input is padded
 * with token 0 to whole chunks (padding is causal-invisible) and cut from the logits.
 */
public final class CatLayerLm implements LanguageModel {
    private final BuildContext c;
    private final ModelSpec spec;
    private final Embedding wte;
    private final List<TransformerBlock> layers = new ArrayList<>();
    private final List<CatLayerAttention> catLayers = new ArrayList<>();
    private final RmsNorm norm;
    private final Linear output;

    public CatLayerLm(BuildContext c, ModelSpec spec) {
        this.c = c;
        this.spec = spec;
        ModelConfig cfg = spec.decoder;
        wte = new Embedding(c, "wte", cfg.paddedVocabSize, cfg.dim);
        for (int i = 0; i < cfg.nLayer; i++) {
            layers.add(new TransformerBlock(c, "layers." + i, cfg));
            catLayers.add(spec.layerPattern.charAt(i) == 'C' ? new CatLayerAttention(c, "layers." + i + ".attention", cfg) : null);
        }
        norm = new RmsNorm(c, "norm", cfg.dim, cfg.normEps);
        output = new Linear(c, "output", cfg.dim, cfg.paddedVocabSize, false);
    }

    public Embedding wte() { return wte; }
    public List<TransformerBlock> layers() { return layers; }
    /** The CAT attention of layer i, or null for a dense layer. */
    public CatLayerAttention catLayer(int i) { return catLayers.get(i); }
    public RmsNorm norm() { return norm; }
    public Linear output() { return output; }

    @Override
    public Value forward(Value ids) {
        Graph g = c.g;
        int l = spec.chunkSize();
        Value t = g.shape(ids, 1);
        Value k = g.div(g.add(t, g.constInt64(l - 1)), g.constInt64(l));
        Value padLen = g.sub(g.mul(k, g.constInt64(l)), t);
        Value padded = g.pad(ids, g.concat(0, g.constInt64(0, 0, 0), padLen), g.scalarInt64(0));
        Value x = wte.forward(padded);
        Value[] rope = null;
        CausalAttention dense = new CausalAttention();
        for (int i = 0; i < layers.size(); i++) {
            CatLayerAttention cat = catLayers.get(i);
            if (cat != null) {
                x = layers.get(i).forward(x, cat::forward);
            } else {
                if (rope == null) rope = Rope.firstN(g, layers.get(i).attention().rope().tables(spec.blockSize()), g.shape(padded, 1));
                x = layers.get(i).forward(x, rope[0], rope[1], dense);
            }
        }
        Value h = g.slice(norm.forward(x), g.constInt64(0), t, g.constInt64(1), null);
        return output.forward(h);
    }
}
