package org.catonnx.graphs;

import org.catonnx.models.CatLm;
import org.catonnx.models.DenseLm;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Variant;
import org.catonnx.nn.BuildContext;
import org.catonnx.nn.CachedAttention;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Shape;
import org.catonnx.onnx.Value;

import java.util.ArrayList;
import java.util.List;

/**
 * Whole greedy generations inside one graph run: an ONNX Loop whose carried values are the
 * last logits, the current chunk's tokens, the chunk index and every cache, so the caches never
 * cross host memory between tokens (ONNX Runtime's Java API has no IO binding). For CAT each
 * iteration picks a token and either feeds it (chunk not full) or compresses the full chunk and
 * feeds its summary, the same decisions as the step-by-step decoder, expressed with If.
 * Inputs are the state after the prompt (see DecodeGraphs); output "tokens" [B, max_new_tokens].
 */
public final class GenerationLoopGraphs {
    public static final String LAST_LOGITS = "last_logits";
    public static final String CHUNK_TOKENS = "chunk_tokens";
    public static final String MAX_NEW_TOKENS = "max_new_tokens";
    public static final String TOKENS = "tokens";

    private GenerationLoopGraphs() {}

    public static Graph cat(ModelSpec spec, WeightSource w, int chunk, GraphOptions o) {
        if (!spec.isCat() || spec.variant == Variant.CAT_LAYER) throw new IllegalArgumentException("no CAT generation loop for " + spec.variant.id);
        Graph g = Graph.create(ForwardGraphs.name(spec, chunk, "generate"));
        BuildContext c = new BuildContext(g, w, o.precision, o.attentionForm);
        int layers = spec.decoder.nLayer, v = spec.paddedVocabSize();
        Value logits = g.input(LAST_LOGITS, DType.FLOAT, "batch", v);
        Value cur = g.input(CHUNK_TOKENS, DType.INT64, "batch", "filled");
        Value k = g.input(DecodeGraphs.CHUNK_INDEX, DType.INT64, 1);
        Value maxNew = g.input(MAX_NEW_TOKENS, DType.INT64, Shape.scalar());
        List<Value[]> ckv = DecodeGraphs.cachedInputs(g, spec.decoder, o.precision, "ck", "cv", "chunks");
        List<Value[]> tkv = DecodeGraphs.cachedInputs(g, spec.decoder, o.precision, "tk", "tv", "local");
        List<Value> carried = new ArrayList<>(List.of(logits, cur, k));
        List<Shape> shapes = new ArrayList<>(List.of(logits.shape(), Shape.of("batch", Shape.unknown(1).dim(0)), k.shape()));
        for (int i = 0; i < layers; i++) {
            carried.addAll(List.of(ckv.get(i)[0], ckv.get(i)[1], tkv.get(i)[0], tkv.get(i)[1]));
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
        BuildContext c = new BuildContext(g, w, o.precision, o.attentionForm);
        int layers = spec.decoder.nLayer, v = spec.paddedVocabSize();
        Value logits = g.input(LAST_LOGITS, DType.FLOAT, "batch", v);
        Value position = g.input(DecodeGraphs.POSITION, DType.INT64, 1);
        Value maxNew = g.input(MAX_NEW_TOKENS, DType.INT64, Shape.scalar());
        List<Value[]> kv = DecodeGraphs.cachedInputs(g, spec.decoder, o.precision, "k", "v", "past");
        List<Value> carried = new ArrayList<>(List.of(logits, position));
        List<Shape> shapes = new ArrayList<>(List.of(logits.shape(), position.shape()));
        for (int i = 0; i < layers; i++) {
            carried.addAll(List.of(kv.get(i)[0], kv.get(i)[1]));
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
