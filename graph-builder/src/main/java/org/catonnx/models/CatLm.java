package org.catonnx.models;

import org.catonnx.nn.BuildContext;
import org.catonnx.nn.CatAttention;
import org.catonnx.nn.CatSequence;
import org.catonnx.nn.Compressor;
import org.catonnx.nn.Embedding;
import org.catonnx.nn.Linear;
import org.catonnx.nn.RmsNorm;
import org.catonnx.nn.TransformerBlock;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Value;

import java.util.ArrayList;
import java.util.List;

/**
 * CAT (CAT.md sections 3 and 5): chunks compressed by f, the decoder attends causally over
 * [summary, (separator), tokens] blocks. Adaptive models pick the chunk size 2^p at build time.
 */
public final class CatLm implements LanguageModel {
    private final BuildContext c;
    private final ModelSpec spec;
    private final int chunk;
    private final boolean adaptive;
    private final Compressor f;
    private final Embedding wte;
    private final List<TransformerBlock> layers = new ArrayList<>();
    private final RmsNorm norm;
    private final Linear output;

    public CatLm(BuildContext c, ModelSpec spec, int chunk) {
        this.c = c;
        this.spec = spec;
        this.chunk = chunk;
        this.adaptive = spec.variant == Variant.CAT_ADAPTIVE;
        ModelConfig d = spec.decoder;
        f = new Compressor(c, spec.compressor, adaptive, chunk);
        wte = new Embedding(c, "wte", d.paddedVocabSize, d.dim);
        for (int i = 0; i < d.nLayer; i++) layers.add(new TransformerBlock(c, "layers." + i, d));
        norm = new RmsNorm(c, "norm", d.dim, d.normEps);
        output = new Linear(c, "output", d.dim, d.paddedVocabSize, false);
    }

    public int chunk() { return chunk; }
    public boolean adaptive() { return adaptive; }
    public Compressor compressor() { return f; }
    public Embedding wte() { return wte; }
    public List<TransformerBlock> layers() { return layers; }
    public RmsNorm norm() { return norm; }
    public Linear output() { return output; }
    /** index of the first token in a decoder block */
    public int tokenOffset() { return adaptive ? 2 : 1; }
    public int blockLength() { return chunk + tokenOffset(); }
    public int power() { return Integer.numberOfTrailingZeros(chunk); }

    public Value dummyFx() {
        return c.param("dummy_fx.weight", adaptive ? Integer.numberOfTrailingZeros(spec.chunkSize()) + 1 : 1, spec.decoder.dim);
    }

    public Value separator() {
        return c.param("seperator.weight", 1, spec.decoder.dim);
    }

    @Override
    public Value forward(Value ids) {
        Graph g = c.g;
        Value t = g.shape(ids, 1);
        // pad with token 0 to K whole chunks, plus one chunk for the final summary block
        Value k = g.div(g.add(t, g.constInt64(chunk - 1)), g.constInt64(chunk));
        Value padLen = g.add(g.sub(g.mul(k, g.constInt64(chunk)), t), g.constInt64(chunk));
        Value padded = g.pad(ids, g.concat(0, g.constInt64(0, 0, 0), padLen), g.scalarInt64(0));
        Value chunks = g.reshape(padded, 0, -1, chunk);                                   // [B,K+1,l]
        Value fx = f.forward(g.slice(chunks, 1, 0, -1), g.range(g.scalarInt64(0), g.squeeze(k, 0), g.scalarInt64(1)));

        Value batch = g.shape(ids, 0);
        Value dummy = CatSequence.broadcastRow(g, dummyFx(), adaptive ? power() : 0, g.concat(0, batch, g.constInt64(1, 1, 1)));
        Value head = g.concat(1, dummy, g.unsqueeze(fx, 2));                              // [B,K+1,1,D]
        Value tokens = wte.forward(chunks);                                               // [B,K+1,l,D]
        Value x = adaptive
                ? CatSequence.assemble(g, tokens, head, CatSequence.broadcastRow(g, separator(), 0,
                        g.concat(0, batch, g.shape(chunks, 1), g.constInt64(1, 1))))
                : CatSequence.assemble(g, tokens, head);

        Value[] rope = layers.get(0).attention().rope().tables(blockLength());
        CatAttention core = new CatAttention(c.attentionForm);
        x = TransformerBlock.stack(layers, x, rope[0], rope[1], core);
        Value h = CatSequence.tokenOutputs(g, norm.forward(x), chunk, tokenOffset());
        h = g.slice(h, g.constInt64(0), t, g.constInt64(1), null);                        // cut the padding
        return output.forward(h);
    }
}
