package org.catonnx.nn;

import org.catonnx.models.ModelConfig;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.TensorData;
import org.catonnx.onnx.Value;

import java.util.ArrayList;
import java.util.List;

/**
 * The CAT compressor f (CAT.md sections 3 and 5): per chunk, [adaptive token, pos token, tokens]
 * through bidirectional layers, the leading special outputs dropped, flattened and projected
 * to dim_fx. All chunks run at once as the blocks of one batched computation.
 */
public final class Compressor {
    private final BuildContext c;
    private final ModelConfig cfg;
    private final boolean adaptive;
    private final int chunk;
    private final Embedding wte;
    private final Embedding posTokens;
    private final Embedding adaptiveToken;
    private final List<TransformerBlock> layers = new ArrayList<>();
    private final RmsNorm norm;

    /** @param chunk the chunk size l used now (adaptive: a power of two up to cfg.chunkSize) */
    public Compressor(BuildContext c, ModelConfig cfg, boolean adaptive, int chunk) {
        this.c = c;
        this.cfg = cfg;
        this.adaptive = adaptive;
        this.chunk = chunk;
        wte = new Embedding(c, "f.wte", cfg.paddedVocabSize, cfg.dim);
        posTokens = new Embedding(c, "f.pos_tokens", adaptive ? cfg.blockSize : cfg.numChunks(), cfg.dim);
        adaptiveToken = adaptive ? new Embedding(c, "f.adaptive_token", power(cfg.chunkSize) + 1, cfg.dim) : null;
        for (int i = 0; i < cfg.nLayer; i++) layers.add(new TransformerBlock(c, "f.layers." + i, cfg));
        norm = new RmsNorm(c, "f.norm", cfg.dim, cfg.normEps);
    }

    static int power(int chunk) {
        return Integer.numberOfTrailingZeros(chunk);
    }

    /**
     * @param chunks     token ids [B, K, l]
     * @param chunkIndex chunk positions [K] (int64), selecting pos_tokens rows
     * @return f(c) [B, K, dim_fx]
     */
    public Value forward(Value chunks, Value chunkIndex) {
        Graph g = c.g;
        try (Graph.Scope s = g.scope("f")) {
            Value x = wte.forward(chunks);                                              // [B,K,l,Dc]
            Value bk11 = g.concat(0, g.shape(chunks, 0), g.shape(chunks, 1), g.constInt64(1, 1));
            Value pos = g.expand(g.unsqueeze(posTokens.forward(chunkIndex), 1), g.concat(0, g.shape(chunks, 0), g.constInt64(1, 1, 1)));
            int prefix = 1;
            if (adaptive) {
                Value a = CatSequence.broadcastRow(g, adaptiveToken.weight(), power(chunk), bk11);
                x = g.concat(2, a, pos, x);
                prefix = 2;
            } else {
                x = g.concat(2, pos, x);
            }
            Value[] rope = layers.get(0).attention().rope().tables(chunk + prefix);
            BlockAttention core = new BlockAttention();
            x = TransformerBlock.stack(layers, x, rope[0], rope[1], core);
            x = g.slice(norm.forward(x), 2, prefix, Long.MAX_VALUE);                     // [B,K,l,Dc]
            Value flat = g.reshape(x, 0, 0, (long) chunk * cfg.dim);
            return g.matMul(flat, g.transpose(projection(), 1, 0));
        }
    }

    /** proj_fx weight; adaptive CAT resizes it to the chunk size in use (bilinear, at export time). */
    private Value projection() {
        long[] full = {cfg.dimFx, (long) cfg.chunkSize * cfg.dim};
        if (!adaptive || chunk == cfg.chunkSize) return c.param("f.proj_fx.weight", full);
        if (c.options.resizeInGraph) {
            // the same interpolation as nodes, so training reaches proj_fx at every chunk size
            Graph g = c.g;
            BilinearResize.Plan p = BilinearResize.plan((int) full[1], chunk * cfg.dim);
            Value w = c.param("f.proj_fx.weight", full);
            Value a = g.mul(g.gather(w, g.constant(TensorData.ofLongs(p.x0, p.x0.length)), 1),
                    g.constant(TensorData.ofFloats(p.w0, p.w0.length).castTo(c.dtype)));
            Value b = g.mul(g.gather(w, g.constant(TensorData.ofLongs(p.x1, p.x1.length)), 1),
                    g.constant(TensorData.ofFloats(p.w1, p.w1.length).castTo(c.dtype)));
            return g.add(a, b);
        }
        TensorData w = c.weights.tensor("f.proj_fx.weight", full);
        if (!java.util.Arrays.equals(w.shape(), full)) {
            throw new IllegalArgumentException("tensor 'f.proj_fx.weight' has shape " + java.util.Arrays.toString(w.shape())
                    + ", the model needs " + java.util.Arrays.toString(full));
        }
        return c.derived("f.proj_fx.weight@chunk" + chunk, BilinearResize.columns(w, chunk * cfg.dim));
    }
}
