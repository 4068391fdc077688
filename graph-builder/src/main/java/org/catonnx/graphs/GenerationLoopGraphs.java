package org.catonnx.graphs;

import org.catonnx.nn.GraphOptions;
import org.catonnx.models.CatLm;
import org.catonnx.models.DenseLm;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Variant;
import org.catonnx.nn.Attention;
import org.catonnx.nn.BuildContext;
import org.catonnx.nn.CachedAttention;
import org.catonnx.nn.CatSequence;
import org.catonnx.nn.TransformerBlock;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.Dim;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Shape;
import org.catonnx.onnx.TensorData;
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
 * With {@link GraphOptions#fusedDecode} the loop is the fused one described further down.
 */
public final class GenerationLoopGraphs {
    public static final String MAX_NEW_TOKENS = "max_new_tokens";
    public static final String TOKENS = "tokens";

    private GenerationLoopGraphs() {}

    public static Graph cat(ModelSpec spec, WeightSource w, int chunk, GraphOptions o) {
        if (!spec.isCat() || spec.variant == Variant.CAT_LAYER) throw new IllegalArgumentException("no CAT generation loop for " + spec.variant.id);
        if (o.fusedDecode) requireFusedDecoding(spec);
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
        if (o.fusedDecode) {
            List<Value[]> buffers = new ArrayList<>();
            for (int i = 0; i < layers; i++) {
                buffers.add(new Value[] {fixedBuffer(g, spec, o.precision, catSlots(spec, chunk), s[1 + 4 * i]),
                        fixedBuffer(g, spec, o.precision, catSlots(spec, chunk), s[2 + 4 * i])});
            }
            g.output(TOKENS, fusedCatLoop(c, spec, chunk, maxNew, g.squeeze(s[0], 1), rest, whole, buffers));
            return g;
        }
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

    /** An empty cache [B, kv_heads, 0, head_dim] in the model precision (B: batchOf's first dim). */
    private static Value emptyCache(Graph g, ModelSpec spec, DType type, Value batchOf) {
        return zeroCache(g, spec, type, batchOf, g.constInt64(0));
    }

    /** A zero cache [B, kv_heads, length, head_dim] in the model precision; length is a 1-element int64. */
    private static Value zeroCache(Graph g, ModelSpec spec, DType type, Value batchOf, Value length) {
        Value shape = g.concat(0, g.shape(batchOf, 0), g.constInt64(spec.decoder.nLocalHeads), length, g.constInt64(spec.decoder.headDim));
        return g.constantOfShape(shape, TensorData.ofFloats(new float[] {0}, 1).castTo(type));
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
        if (o.fusedDecode) {
            List<Value[]> buffers = new ArrayList<>();
            for (int i = 0; i < layers; i++) {
                buffers.add(new Value[] {
                        fixedBuffer(g, spec, o.precision, spec.blockSize() + DENSE_STEPS, first.get(i).newKeys()),
                        fixedBuffer(g, spec, o.precision, spec.blockSize() + DENSE_STEPS, first.get(i).newValues())});
            }
            g.output(TOKENS, fusedDenseLoop(c, spec, maxNew, logits, p, buffers));
            return g;
        }
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

    // ------------------------------------------------------------------ fused decoding (GraphOptions.fusedDecode)
    //
    // Each layer's cache is one fixed buffer [B,Hkv,slots,hd] that GroupQueryAttention writes at a
    // slot index. The dense cache is the usual one (slot = position). CAT's cache is its summaries
    // (dummy first) followed by the current chunk's tokens, so with nc summaries a token at local
    // index l goes to slot nc + l and attends to slots 0..nc+l, and when a chunk ends its summary
    // overwrites slot nc: the chunk's tokens are dropped simply by rewinding the valid length.
    //
    // One Loop iteration is a whole chunk (CAT: chunk tokens, then compress and feed the summary)
    // or DENSE_STEPS tokens (dense), unrolled: no If per token, and inside an iteration each
    // GroupQueryAttention's past is the previous one's present, used once, so ONNX Runtime can
    // update the buffer in place (past and present share memory). Loop-carried values are
    // subgraph inputs, which ONNX Runtime never reuses, so the first step of an iteration copies.

    /** Fused decoding exists for the dense model and fixed-chunk CAT; anything else is refused with the reason. */
    public static void requireFusedDecoding(ModelSpec spec) {
        if (spec.variant != Variant.CAT && spec.variant != Variant.TRANSFORMER) {
            throw new IllegalArgumentException("fused decoding is built for fixed-chunk CAT and the dense model, not " + spec.variant.id
                    + (spec.variant == Variant.CAT_LAYER ? " (no in-graph generation loop)" : " (adaptive CAT feeds a summary and a separator at once)"));
        }
    }

    /** Tokens per Loop iteration of the fused dense generation. */
    static final int DENSE_STEPS = 8;

    /** Cache slots of fused CAT decoding: every summary a block_size context can have, dummy included, plus a chunk. */
    static int catSlots(ModelSpec spec, int chunk) {
        return spec.blockSize() / chunk + 2 + chunk;
    }

    /**
     * A cache buffer's declared shape. Fully known (batch symbolic) on purpose: ONNX Runtime lets
     * GroupQueryAttention's present reuse its past's memory only when their shapes provably match,
     * and its shape inference copies the past's dims to the present.
     */
    static Shape bufferShape(ModelSpec spec, int slots) {
        return Shape.of("batch", spec.decoder.nLocalHeads, slots, spec.decoder.headDim);
    }

    /** The cache [B,Hkv,n,hd] followed by zeros up to slots entries. */
    private static Value fixedBuffer(Graph g, ModelSpec spec, DType type, int slots, Value filled) {
        return g.concat(2, filled, zeroCache(g, spec, type, filled, g.sub(g.constInt64(slots), g.shape(filled, 2))));
    }

    /**
     * x [B,1,D] at RoPE position (int64 [1]) through the decoder layers with fused attention; the
     * new entry goes to cache slot (int64 [1]). Returns h [B,1,D]; buffers are replaced by the presents.
     */
    private static Value fusedDecoderStep(BuildContext c, List<TransformerBlock> layers, int positionLimit,
                                          Value x, Value position, Value slot, List<Value[]> buffers) {
        Graph g = c.g;
        Value seqlens = g.cast(g.expand(slot, g.shape(x, 0)), DType.INT32);   // valid entries before this one, per row
        Value total = g.cast(g.add(slot, g.constInt64(1)), DType.INT32);
        return fusedDecoderStep(c, layers, positionLimit, x, position, seqlens, total, buffers);
    }

    /** As above with GroupQueryAttention's seqlens_k (int32 [B]) and total_sequence_length (int32 [1]) given. */
    static Value fusedDecoderStep(BuildContext c, List<TransformerBlock> layers, int positionLimit,
                                  Value x, Value position, Value seqlens, Value total, List<Value[]> buffers) {
        Value[] rope = layers.get(0).attention().rope().halfTables(positionLimit);
        return TransformerBlock.stack(layers, x, i -> h -> {
            Value[] past = buffers.get(i);
            Value[] a = layers.get(i).attention().decodeFused(h, position, rope, past[0], past[1], seqlens, total);
            buffers.set(i, new Value[] {a[1], a[2]});
            return a[0];
        });
    }

    /** Dense: DENSE_STEPS greedy tokens per iteration; tokens [B, maxNew]. */
    private static Value fusedDenseLoop(BuildContext c, ModelSpec spec, Value maxNew, Value logits, Value length, List<Value[]> buffers) {
        Graph g = c.g;
        int layers = spec.decoder.nLayer;
        Value trips = ceilDiv(g, maxNew, DENSE_STEPS);
        List<Value> carried = new ArrayList<>(List.of(logits, length));
        List<Shape> shapes = new ArrayList<>(List.of(Shape.of("batch", spec.paddedVocabSize()), length.shape()));
        for (Value[] b : buffers) {
            carried.addAll(List.of(b[0], b[1]));
            shapes.add(bufferShape(spec, spec.blockSize() + DENSE_STEPS));
            shapes.add(bufferShape(spec, spec.blockSize() + DENSE_STEPS));
        }
        Value[] out = g.loop(trips, g.scalarBool(true), carried, shapes, (body, iter, in) -> {
            BuildContext bc = c.in(body);
            DenseLm m = new DenseLm(bc, spec.decoder);
            List<Value[]> cache = new ArrayList<>();
            for (int i = 0; i < layers; i++) cache.add(new Value[] {in.get(2 + 2 * i), in.get(3 + 2 * i)});
            Value last = in.get(0), position = in.get(1);
            List<Value> picked = new ArrayList<>();
            for (int t = 0; t < DENSE_STEPS; t++) {
                Value next = pick(body, last, spec.vocabSize());
                picked.add(body.unsqueeze(next, 1));
                Value h;
                try (Graph.Scope sc = body.scope("step" + t)) {
                    h = fusedDecoderStep(bc, m.layers(), spec.blockSize() + DENSE_STEPS, m.wte().forward(body.unsqueeze(next, 1)),
                            position, position, cache);
                    last = body.squeeze(body.cast(m.output().forward(m.norm().forward(h)), DType.FLOAT), 1);
                }
                position = body.add(position, body.constInt64(1));
            }
            List<Value> res = new ArrayList<>(List.of(body.scalarBool(true), last, position));
            for (Value[] b : cache) res.addAll(List.of(b[0], b[1]));
            res.add(body.concat(1, picked));                                                   // scan: [B, DENSE_STEPS]
            return res;
        });
        return firstTokens(g, out[out.length - 1], g.constInt64(0), maxNew);
    }

    /**
     * CAT: one chunk per iteration. The prompt's whole chunks were prefilled as summaries; its
     * remaining r tokens are fed (forced) at the start of the first iteration instead of picked
     * ones, so every iteration starts on a chunk boundary. tokens [B, maxNew].
     */
    private static Value fusedCatLoop(BuildContext c, ModelSpec spec, int chunk, Value maxNew, Value logits, Value rest, Value whole,
                                      List<Value[]> buffers) {
        Graph g = c.g;
        int layers = spec.decoder.nLayer;
        Value r = g.shape(rest, 1);
        Value forced = g.concat(1, rest, g.constantOfShape(g.concat(0, g.shape(rest, 0), g.sub(g.constInt64(chunk), r)),
                TensorData.ofLongs(new long[] {0}, 1)));                       // [B, chunk]
        Value trips = ceilDiv(g, g.add(g.squeeze(r, 0), maxNew), chunk);
        List<Value> carried = new ArrayList<>(List.of(logits, whole, r, forced));
        List<Shape> shapes = new ArrayList<>(List.of(logits.shape(), whole.shape(), r.shape(), Shape.of("batch", chunk)));
        for (Value[] b : buffers) {
            carried.addAll(List.of(b[0], b[1]));
            shapes.add(bufferShape(spec, catSlots(spec, chunk)));
            shapes.add(bufferShape(spec, catSlots(spec, chunk)));
        }
        Value[] out = g.loop(trips, g.scalarBool(true), carried, shapes, (body, iter, in) -> {
            BuildContext bc = c.in(body);
            CatLm m = new CatLm(bc, spec, chunk);
            List<Value[]> cache = new ArrayList<>();
            for (int i = 0; i < layers; i++) cache.add(new Value[] {in.get(4 + 2 * i), in.get(5 + 2 * i)});
            Value chunkIndex = in.get(1), nForced = in.get(2), forcedIds = in.get(3);
            Value summaries = body.add(chunkIndex, body.constInt64(1));                        // nc: dummy + whole chunks
            Value last = in.get(0);
            List<Value> ids = new ArrayList<>();
            for (int t = 0; t < chunk; t++) {
                Value token = body.where(body.squeeze(body.less(body.constInt64(t), nForced), 0),
                        body.squeeze(body.slice(forcedIds, 1, t, t + 1), 1), pick(body, last, spec.vocabSize()));
                ids.add(body.unsqueeze(token, 1));
                if (t == chunk - 1) break;   // the last token is only compressed: its prediction is the summary's
                try (Graph.Scope sc = body.scope("token" + t)) {
                    Value h = fusedDecoderStep(bc, m.layers(), m.blockLength(), m.wte().forward(body.unsqueeze(token, 1)),
                            body.constInt64(t + m.tokenOffset()), body.add(summaries, body.constInt64(t)), cache);
                    last = catLogits(bc, m, h);
                }
            }
            Value chunkIds = body.concat(1, ids);                                               // [B, chunk]
            try (Graph.Scope sc = body.scope("chunk_end")) {
                // the chunk's summary at local position 0 goes to slot nc, over its first token
                Value f = m.compressor().forward(body.unsqueeze(chunkIds, 1), chunkIndex);
                last = catLogits(bc, m, fusedDecoderStep(bc, m.layers(), m.blockLength(), f, body.constInt64(0), summaries, cache));
            }
            List<Value> res = new ArrayList<>(List.of(body.scalarBool(true), last, summaries, body.constInt64(0), body.identity(forcedIds)));
            for (Value[] b : cache) res.addAll(List.of(b[0], b[1]));
            res.add(chunkIds);                                                                 // scan: [B, chunk]
            return res;
        });
        return firstTokens(g, out[out.length - 1], r, maxNew);
    }

    /** Scan output [iterations, B, n] -> tokens [B, start : start + count] of the concatenation. */
    private static Value firstTokens(Graph g, Value scan, Value start, Value count) {
        Value flat = g.reshape(g.transpose(scan, 1, 0, 2), 0, -1);
        return g.slice(flat, start, g.add(start, g.reshape(count, 1)), g.constInt64(1), null);
    }

    /** ceil(n / d) for an int64 scalar n, as a scalar. */
    private static Value ceilDiv(Graph g, Value n, int d) {
        return g.div(g.add(n, g.scalarInt64(d - 1)), g.scalarInt64(d));
    }

    static Value catLogits(BuildContext c, CatLm m, Value h) {
        return c.g.squeeze(c.g.cast(m.output().forward(m.norm().forward(h)), DType.FLOAT), 1);
    }

    /** Greedy pick over the real vocabulary (padded rows excluded). */
    static Value pick(Graph g, Value logits, int vocab) {
        return GreedyPick.pick(g, logits, vocab);
    }
}
