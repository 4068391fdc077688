package org.catonnx.graphs;

import org.catonnx.nn.GraphOptions;
import org.catonnx.models.CatLm;
import org.catonnx.models.DenseLm;
import org.catonnx.models.LanguageModel;
import org.catonnx.models.ModelConfig;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Variant;
import org.catonnx.nn.BuildContext;
import org.catonnx.nn.CachedAttention;
import org.catonnx.nn.CatSequence;
import org.catonnx.nn.Rope;
import org.catonnx.nn.TransformerBlock;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Value;

import java.util.ArrayList;
import java.util.List;

/**
 * Graphs for cached decoding (CAT.md section 4). CAT state per layer: keys/values of the
 * compressed vectors so far, dummy first ("ck"/"cv", at most num_chunks + 1 entries), and of
 * the current chunk's tokens ("tk"/"tv", at most l entries, plus the separator for adaptive CAT).
 * <ul>
 * <li>{@code start}: the dummy summary for a batch, [B,1,D];</li>
 * <li>{@code compress}: chunk tokens [B,K,l] + chunk indices [K] -> f(c) [B,K,D];</li>
 * <li>{@code summaries}: feeds summary vectors (each at local position 0; adaptive adds the
 *     separator at 1), appends them to the compressed cache, starts a new chunk; returns the
 *     logits of the last vector (the next chunk's first token);</li>
 * <li>{@code tokens}: feeds tokens at local positions position.. of the current chunk.</li>
 * </ul>
 * The dense baseline has one {@code step} graph with the usual growing cache ("k"/"v").
 */
public final class DecodeGraphs {
    public static final String SUMMARIES = "summaries";
    public static final String CHUNK_IDS = "chunk_ids";
    public static final String CHUNK_INDEX = "chunk_index";
    public static final String POSITION = "position";

    private DecodeGraphs() {}

    public static String past(int layer, String part) { return "past." + layer + "." + part; }
    public static String present(int layer, String part) { return "present." + layer + "." + part; }

    // ------------------------------------------------------------------ CAT

    public static Graph start(ModelSpec spec, WeightSource w, int chunk, GraphOptions o) {
        Graph g = Graph.create(ForwardGraphs.name(spec, chunk, "start"));
        BuildContext c = context(g, w, o);
        CatLm m = cat(spec, c, chunk);
        Value ids = g.input(ForwardGraphs.INPUT_IDS, DType.INT64, "batch", "seq");
        Value dummy = CatSequence.broadcastRow(g, m.dummyFx(), m.adaptive() ? m.power() : 0,
                g.concat(0, g.shape(ids, 0), g.constInt64(1, 1, 1)));
        g.output(SUMMARIES, g.squeeze(dummy, 2));
        return g;
    }

    public static Graph compress(ModelSpec spec, WeightSource w, int chunk, GraphOptions o) {
        Graph g = Graph.create(ForwardGraphs.name(spec, chunk, "compress"));
        BuildContext c = context(g, w, o);
        CatLm m = cat(spec, c, chunk);
        Value ids = g.input(CHUNK_IDS, DType.INT64, "batch", "chunks", chunk);
        Value index = g.input(CHUNK_INDEX, DType.INT64, "chunks");
        g.output(SUMMARIES, m.compressor().forward(ids, index));
        return g;
    }

    public static Graph summaries(ModelSpec spec, WeightSource w, int chunk, GraphOptions o) {
        Graph g = Graph.create(ForwardGraphs.name(spec, chunk, "summaries"));
        BuildContext c = context(g, w, o);
        CatLm m = cat(spec, c, chunk);
        Value f = g.input(SUMMARIES, o.precision, "batch", "n", spec.decoder.dim);
        List<Value[]> past = cachedInputs(g, spec.decoder, o.precision, "ck", "cv", "chunks");
        Value[] out = summaryStep(c, m, f, past);
        g.output(ForwardGraphs.LOGITS, out[0]);
        for (int i = 0; i < past.size(); i++) {
            g.output(present(i, "ck"), out[1 + 4 * i]);
            g.output(present(i, "cv"), out[2 + 4 * i]);
            g.output(present(i, "tk"), out[3 + 4 * i]);
            g.output(present(i, "tv"), out[4 + 4 * i]);
        }
        return g;
    }

    public static Graph tokens(ModelSpec spec, WeightSource w, int chunk, GraphOptions o) {
        Graph g = Graph.create(ForwardGraphs.name(spec, chunk, "tokens"));
        BuildContext c = context(g, w, o);
        CatLm m = cat(spec, c, chunk);
        Value ids = g.input(ForwardGraphs.INPUT_IDS, DType.INT64, "batch", "n");
        Value position = g.input(POSITION, DType.INT64, 1);
        List<Value[]> compressed = cachedInputs(g, spec.decoder, o.precision, "ck", "cv", "chunks");
        List<Value[]> local = cachedInputs(g, spec.decoder, o.precision, "tk", "tv", "local");
        Value[] out = tokenStep(c, m, ids, position, compressed, local);
        g.output(ForwardGraphs.LOGITS, out[0]);
        for (int i = 0; i < local.size(); i++) {
            g.output(present(i, "tk"), out[1 + 2 * i]);
            g.output(present(i, "tv"), out[2 + 2 * i]);
        }
        return g;
    }

    /**
     * Summary vectors f [B,n,D] at local position 0 (adaptive: then the separator at 1).
     * @return logits of the last fed vector [B,1,V] (float32), then per layer ck, cv, tk, tv
     */
    public static Value[] summaryStep(BuildContext c, CatLm m, Value f, List<Value[]> past) {
        Graph g = c.g;
        Value x = f;
        Value n = g.shape(f, 1);
        Value positions = g.constantOfShape(n, org.catonnx.onnx.TensorData.ofLongs(new long[] {0}, 1));
        if (m.adaptive()) {
            Value sep = g.expand(g.unsqueeze(m.separator(), 0), g.concat(0, g.shape(f, 0), g.constInt64(1, 1)));
            x = g.concat(1, f, sep);
            positions = g.concat(0, positions, g.constInt64(1));
        }
        List<CachedAttention> attn = new ArrayList<>();
        Value h = decoderStep(c, m.layers(), m.blockLength(), x, positions, past, attn);
        Value last = g.slice(h, 1, -1, Long.MAX_VALUE);
        List<Value> out = new ArrayList<>();
        out.add(logits(c, m, last));
        Value zero = g.constInt64(0), axis = g.constInt64(2), end = g.constInt64(Long.MAX_VALUE);
        for (int i = 0; i < past.size(); i++) {
            CachedAttention a = attn.get(i);
            out.add(g.concat(2, past.get(i)[0], g.slice(a.newKeys(), zero, n, axis, null)));
            out.add(g.concat(2, past.get(i)[1], g.slice(a.newValues(), zero, n, axis, null)));
            out.add(g.slice(a.newKeys(), n, end, axis, null));   // separator, or empty
            out.add(g.slice(a.newValues(), n, end, axis, null));
        }
        return out.toArray(new Value[0]);
    }

    /**
     * Tokens [B,n] at local positions position.. of the current chunk.
     * @return logits [B,n,V] (float32), then per layer the grown tk, tv
     */
    public static Value[] tokenStep(BuildContext c, CatLm m, Value ids, Value position, List<Value[]> compressed, List<Value[]> local) {
        Graph g = c.g;
        Value x = m.wte().forward(ids);
        Value positions = g.add(g.range(g.scalarInt64(0), g.squeeze(g.shape(ids, 1), 0), g.scalarInt64(1)), g.add(position, g.constInt64(m.tokenOffset())));
        List<Value[]> past = new ArrayList<>();
        for (int i = 0; i < compressed.size(); i++) {
            past.add(new Value[] {g.concat(2, compressed.get(i)[0], local.get(i)[0]), g.concat(2, compressed.get(i)[1], local.get(i)[1])});
        }
        List<CachedAttention> attn = new ArrayList<>();
        Value h = decoderStep(c, m.layers(), m.blockLength(), x, positions, past, attn);
        List<Value> out = new ArrayList<>();
        out.add(logits(c, m, h));
        for (int i = 0; i < local.size(); i++) {
            out.add(g.concat(2, local.get(i)[0], attn.get(i).newKeys()));
            out.add(g.concat(2, local.get(i)[1], attn.get(i).newValues()));
        }
        return out.toArray(new Value[0]);
    }

    // ------------------------------------------------------------------ dense

    public static Graph denseStep(ModelSpec spec, WeightSource w, GraphOptions o) {
        if (spec.variant != Variant.TRANSFORMER) throw new IllegalArgumentException("dense step graph for " + spec.variant.id);
        Graph g = Graph.create(ForwardGraphs.name(spec, 0, "step"));
        BuildContext c = context(g, w, o);
        DenseLm m = new DenseLm(c, spec.decoder);
        Value ids = g.input(ForwardGraphs.INPUT_IDS, DType.INT64, "batch", "n");
        Value position = g.input(POSITION, DType.INT64, 1);
        List<Value[]> past = cachedInputs(g, spec.decoder, o.precision, "k", "v", "past");
        Value positions = g.add(g.range(g.scalarInt64(0), g.squeeze(g.shape(ids, 1), 0), g.scalarInt64(1)), position);
        List<CachedAttention> attn = new ArrayList<>();
        Value h = decoderStep(c, m.layers(), spec.blockSize(), m.wte().forward(ids), positions, past, attn);
        g.output(ForwardGraphs.LOGITS, g.cast(m.output().forward(m.norm().forward(h)), c.accumulate()));
        for (int i = 0; i < past.size(); i++) {
            g.output(present(i, "k"), g.concat(2, past.get(i)[0], attn.get(i).newKeys()));
            g.output(present(i, "v"), g.concat(2, past.get(i)[1], attn.get(i).newValues()));
        }
        return g;
    }

    // ------------------------------------------------------------------ shared

    /** Runs the decoder layers on x [B,n,D] at the given local positions with cached keys/values. */
    static Value decoderStep(BuildContext c, List<TransformerBlock> layers, int positionLimit, Value x, Value positions,
                             List<Value[]> past, List<CachedAttention> attn) {
        Value[] rope = Rope.rows(c.g, layers.get(0).attention().rope().tables(positionLimit), positions);
        List<CachedAttention> cores = new ArrayList<>();
        for (Value[] p : past) cores.add(new CachedAttention(p[0], p[1]));
        attn.addAll(cores);
        return TransformerBlock.stack(layers, x, i -> h -> layers.get(i).attention().forward(h, rope[0], rope[1], cores.get(i)));
    }

    private static Value logits(BuildContext c, CatLm m, Value h) {
        return c.g.cast(m.output().forward(m.norm().forward(h)), c.accumulate());
    }

    static List<Value[]> cachedInputs(Graph g, ModelConfig d, DType t, String kName, String vName, String lenSymbol) {
        List<Value[]> l = new ArrayList<>();
        for (int i = 0; i < d.nLayer; i++) {
            l.add(new Value[] {
                    g.input(past(i, kName), t, "batch", d.nLocalHeads, lenSymbol, d.headDim),
                    g.input(past(i, vName), t, "batch", d.nLocalHeads, lenSymbol, d.headDim)});
        }
        return l;
    }

    private static BuildContext context(Graph g, WeightSource w, GraphOptions o) {
        return new BuildContext(g, w, o);
    }

    private static CatLm cat(ModelSpec spec, BuildContext c, int chunk) {
        LanguageModel m = LanguageModel.of(spec, c, chunk);
        if (!(m instanceof CatLm)) throw new IllegalArgumentException(spec.variant.id + " has no CAT decode graphs");
        return (CatLm) m;
    }
}
