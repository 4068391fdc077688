package org.catonnx.graphs;

import org.catonnx.nn.GraphOptions;
import org.catonnx.models.CatLm;
import org.catonnx.models.DenseLm;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Variant;
import org.catonnx.nn.BuildContext;
import org.catonnx.nn.CachedAttention;
import org.catonnx.nn.CatSequence;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.Dim;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Shape;
import org.catonnx.onnx.Value;

import java.util.ArrayList;
import java.util.List;

/**
 * Whole greedy generations inside one graph run, prompt included: input_ids [B, P] and
 * max_new_tokens in, tokens [B, max_new_tokens] out. The prompt is prefilled as the step decoder
 * does it (whole chunks compressed and fed as summaries, the remainder as tokens), then an ONNX
 * Loop carries the last logits, the current chunk's tokens, the chunk index and every cache, so
 * caches never cross host memory (ONNX Runtime's Java API has no IO binding) and one session
 * holds the weights. Each iteration picks a token and either feeds it (chunk not full) or
 * compresses the full chunk and feeds its summary, the same decisions as the step decoder (If).
 */
public final class GenerationLoopGraphs {
    public static final String MAX_NEW_TOKENS = "max_new_tokens";
    public static final String TOKENS = "tokens";

    private GenerationLoopGraphs() {}

    public static Graph cat(ModelSpec spec, WeightSource w, int chunk, GraphOptions o) {
        if (!spec.isCat() || spec.variant == Variant.CAT_LAYER) throw new IllegalArgumentException("no CAT generation loop for " + spec.variant.id);
        Graph g = Graph.create(ForwardGraphs.name(spec, chunk, "generate"));
        BuildContext c = new BuildContext(g, w, o);
        CatLm m = new CatLm(c, spec, chunk);
        int layers = spec.decoder.nLayer;
        Value ids = g.input(ForwardGraphs.INPUT_IDS, DType.INT64, "batch", "prompt");
        Value maxNew = g.input(MAX_NEW_TOKENS, DType.INT64, Shape.scalar());

        // prefill: [dummy, f(whole prompt chunks)] as summaries, then the remainder as tokens
        Value p = g.shape(ids, 1);
        Value whole = g.div(p, g.constInt64(chunk));
        Value wholeTokens = g.mul(whole, g.constInt64(chunk));
        Value dummy = g.squeeze(CatSequence.broadcastRow(g, m.dummyFx(), m.adaptive() ? m.power() : 0,
                g.concat(0, g.shape(ids, 0), g.constInt64(1, 1, 1))), 2);
        Value summaries = g.ifElse(positive(g, whole), t -> {
            CatLm mt = new CatLm(c.in(t), spec, chunk);
            Value chunks = t.reshape(t.slice(ids, t.constInt64(0), wholeTokens, t.constInt64(1), null), 0, -1, chunk);
            Value f = mt.compressor().forward(chunks, t.range(t.scalarInt64(0), t.squeeze(whole, 0), t.scalarInt64(1)));
            return List.of(t.concat(1, dummy, f));
        }, e -> List.of(e.identity(dummy)))[0];
        Value empty = emptyCache(g, spec, o.precision, ids);
        List<Value[]> none = new ArrayList<>();
        for (int i = 0; i < layers; i++) none.add(new Value[] {empty, empty});
        Value[] s = DecodeGraphs.summaryStep(c, m, summaries, none);
        Value rest = g.slice(ids, wholeTokens, p, g.constInt64(1), null);
        Value[] prefill = g.ifElse(positive(g, g.sub(p, wholeTokens)), t -> {
            BuildContext ct = c.in(t);
            List<Value[]> compressed = new ArrayList<>(), local = new ArrayList<>();
            for (int i = 0; i < layers; i++) {
                compressed.add(new Value[] {s[1 + 4 * i], s[2 + 4 * i]});
                local.add(new Value[] {s[3 + 4 * i], s[4 + 4 * i]});
            }
            Value[] r = DecodeGraphs.tokenStep(ct, new CatLm(ct, spec, chunk), rest, t.constInt64(0), compressed, local);
            List<Value> out = new ArrayList<>(List.of(t.squeeze(t.slice(r[0], 1, -1, Long.MAX_VALUE), 1)));
            for (int i = 0; i < layers; i++) out.addAll(List.of(r[1 + 2 * i], r[2 + 2 * i]));
            return out;
        }, e -> {
            List<Value> out = new ArrayList<>(List.of(e.squeeze(s[0], 1)));
            for (int i = 0; i < layers; i++) out.addAll(List.of(e.identity(s[3 + 4 * i]), e.identity(s[4 + 4 * i])));
            return out;
        });

        List<Value> carried = new ArrayList<>(List.of(prefill[0], rest, whole));
        List<Shape> shapes = new ArrayList<>(List.of(Shape.of("batch", spec.paddedVocabSize()), Shape.of("batch", Dim.unknown()), whole.shape()));
        for (int i = 0; i < layers; i++) {
            carried.addAll(List.of(s[1 + 4 * i], s[2 + 4 * i], prefill[1 + 2 * i], prefill[2 + 2 * i]));
            for (int j = 0; j < 4; j++) shapes.add(Shape.unknown(4));
        }
        Value[] out = g.loop(maxNew, g.scalarBool(true), carried, shapes, (body, iter, in) -> {
            BuildContext bc = c.in(body);
            Value next = pick(body, in.get(0), spec.vocabSize());                               // [B]
            Value filled = body.concat(1, in.get(1), body.unsqueeze(next, 1));                  // [B, j+1]
            Value full = body.squeeze(body.equal(body.shape(filled, 1), body.constInt64(chunk)), 0);
            Value[] branch = body.ifElse(full,
                    t -> endChunk(bc.in(t), spec, chunk, filled, in),
                    e -> continueChunk(bc.in(e), spec, chunk, next, filled, in));
            List<Value> res = new ArrayList<>();
            res.add(body.scalarBool(true));
            for (Value b : branch) res.add(b);
            res.add(next);                                                                     // scan output
            return res;
        });
        g.output(TOKENS, g.transpose(out[out.length - 1], 1, 0));
        return g;
    }

    /** A scalar bool: x[0] > 0 for a 1-element int64 tensor. */
    private static Value positive(Graph g, Value x) {
        return g.squeeze(g.greater(x, g.constInt64(0)), 0);
    }

    /** An empty cache [B, kv_heads, 0, head_dim] in the model precision. */
    private static Value emptyCache(Graph g, ModelSpec spec, DType type, Value ids) {
        Value shape = g.concat(0, g.shape(ids, 0), g.constInt64(spec.decoder.nLocalHeads, 0, spec.decoder.headDim));
        return g.constantOfShape(shape, org.catonnx.onnx.TensorData.ofFloats(new float[] {0}, 1).castTo(type));
    }

    /** The chunk is complete: compress it, feed its summary, start a new chunk. */
    private static List<Value> endChunk(BuildContext c, ModelSpec spec, int chunk, Value filled, List<Value> in) {
        Graph g = c.g;
        CatLm m = new CatLm(c, spec, chunk);
        Value f = m.compressor().forward(g.reshape(filled, 0, 1, chunk), in.get(2));
        int layers = spec.decoder.nLayer;
        List<Value[]> past = new ArrayList<>();
        for (int i = 0; i < layers; i++) past.add(new Value[] {in.get(3 + 4 * i), in.get(4 + 4 * i)});
        Value[] s = DecodeGraphs.summaryStep(c, m, f, past);
        List<Value> out = new ArrayList<>();
        out.add(g.squeeze(s[0], 1));
        out.add(g.slice(filled, 1, 0, 0));                       // empty [B, 0]
        out.add(g.add(in.get(2), g.constInt64(1)));
        for (int i = 0; i < layers; i++) for (int j = 0; j < 4; j++) out.add(s[1 + 4 * i + j]);
        return out;
    }

    /** The chunk has room: feed the token at its local position. */
    private static List<Value> continueChunk(BuildContext c, ModelSpec spec, int chunk, Value next, Value filled, List<Value> in) {
        Graph g = c.g;
        CatLm m = new CatLm(c, spec, chunk);
        int layers = spec.decoder.nLayer;
        List<Value[]> compressed = new ArrayList<>(), local = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            compressed.add(new Value[] {in.get(3 + 4 * i), in.get(4 + 4 * i)});
            local.add(new Value[] {in.get(5 + 4 * i), in.get(6 + 4 * i)});
        }
        Value[] s = DecodeGraphs.tokenStep(c, m, g.unsqueeze(next, 1), g.shape(in.get(1), 1), compressed, local);
        List<Value> out = new ArrayList<>();
        out.add(g.squeeze(s[0], 1));
        out.add(g.identity(filled));
        out.add(g.identity(in.get(2)));
        for (int i = 0; i < layers; i++) {
            out.add(g.identity(compressed.get(i)[0]));
            out.add(g.identity(compressed.get(i)[1]));
            out.add(s[1 + 2 * i]);
            out.add(s[2 + 2 * i]);
        }
        return out;
    }

    public static Graph dense(ModelSpec spec, WeightSource w, GraphOptions o) {
        if (spec.variant != Variant.TRANSFORMER) throw new IllegalArgumentException("dense generation loop for " + spec.variant.id);
        Graph g = Graph.create(ForwardGraphs.name(spec, 0, "generate"));
        BuildContext c = new BuildContext(g, w, o);
        DenseLm model = new DenseLm(c, spec.decoder);
        int layers = spec.decoder.nLayer;
        Value ids = g.input(ForwardGraphs.INPUT_IDS, DType.INT64, "batch", "prompt");
        Value maxNew = g.input(MAX_NEW_TOKENS, DType.INT64, Shape.scalar());
        // prefill: the whole prompt through the decoder with an empty cache
        Value empty = emptyCache(g, spec, o.precision, ids);
        List<Value[]> none = new ArrayList<>();
        for (int i = 0; i < layers; i++) none.add(new Value[] {empty, empty});
        List<CachedAttention> first = new ArrayList<>();
        Value p = g.shape(ids, 1);
        Value h0 = DecodeGraphs.decoderStep(c, model.layers(), spec.blockSize(), model.wte().forward(ids),
                g.range(g.scalarInt64(0), g.squeeze(p, 0), g.scalarInt64(1)), none, first);
        Value logits = g.squeeze(g.cast(model.output().forward(model.norm().forward(g.slice(h0, 1, -1, Long.MAX_VALUE))), DType.FLOAT), 1);
        List<Value> carried = new ArrayList<>(List.of(logits, p));
        List<Shape> shapes = new ArrayList<>(List.of(Shape.of("batch", spec.paddedVocabSize()), p.shape()));
        for (int i = 0; i < layers; i++) {
            carried.addAll(List.of(first.get(i).newKeys(), first.get(i).newValues()));
            shapes.add(Shape.unknown(4));
            shapes.add(Shape.unknown(4));
        }
        Value[] out = g.loop(maxNew, g.scalarBool(true), carried, shapes, (body, iter, in) -> {
            BuildContext bc = c.in(body);
            DenseLm m = new DenseLm(bc, spec.decoder);
            Value next = pick(body, in.get(0), spec.vocabSize());
            List<Value[]> past = new ArrayList<>();
            for (int i = 0; i < layers; i++) past.add(new Value[] {in.get(2 + 2 * i), in.get(3 + 2 * i)});
            List<CachedAttention> attn = new ArrayList<>();
            Value h = DecodeGraphs.decoderStep(bc, m.layers(), spec.blockSize(), m.wte().forward(body.unsqueeze(next, 1)), in.get(1), past, attn);
            List<Value> res = new ArrayList<>();
            res.add(body.scalarBool(true));
            res.add(body.squeeze(body.cast(m.output().forward(m.norm().forward(h)), DType.FLOAT), 1));
            res.add(body.add(in.get(1), body.constInt64(1)));
            for (int i = 0; i < layers; i++) {
                res.add(body.concat(2, past.get(i)[0], attn.get(i).newKeys()));
                res.add(body.concat(2, past.get(i)[1], attn.get(i).newValues()));
            }
            res.add(next);
            return res;
        });
        g.output(TOKENS, g.transpose(out[out.length - 1], 1, 0));
        return g;
    }

    /** Greedy pick over the real vocabulary (padded rows excluded). */
    private static Value pick(Graph g, Value logits, int vocab) {
        return g.argMax(g.slice(logits, 1, 0, vocab), 1, false);
    }
}
