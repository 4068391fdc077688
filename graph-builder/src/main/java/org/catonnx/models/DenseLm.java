package org.catonnx.models;

import org.catonnx.nn.BuildContext;
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

/** The transformer++ baseline: wte -> causal blocks -> norm -> output. */
public final class DenseLm implements LanguageModel {
    private final BuildContext c;
    private final ModelConfig cfg;
    private final Embedding wte;
    private final List<TransformerBlock> layers = new ArrayList<>();
    private final RmsNorm norm;
    private final Linear output;

    public DenseLm(BuildContext c, ModelConfig cfg) {
        this.c = c;
        this.cfg = cfg;
        wte = new Embedding(c, "wte", cfg.paddedVocabSize, cfg.dim);
        for (int i = 0; i < cfg.nLayer; i++) layers.add(new TransformerBlock(c, "layers." + i, cfg));
        norm = new RmsNorm(c, "norm", cfg.dim, cfg.normEps);
        output = new Linear(c, "output", cfg.dim, cfg.paddedVocabSize, false);
    }

    public List<TransformerBlock> layers() { return layers; }
    public Embedding wte() { return wte; }
    public RmsNorm norm() { return norm; }
    public Linear output() { return output; }

    @Override
    public Value forward(Value ids) {
        Graph g = c.g;
        Value x = wte.forward(ids);
        Value[] rope = Rope.firstN(g, layers.get(0).attention().rope().tables(cfg.blockSize), g.shape(ids, 1));
        CausalAttention core = new CausalAttention();
        x = TransformerBlock.stack(layers, x, rope[0], rope[1], core);
        return output.forward(norm.forward(x));
    }
}
