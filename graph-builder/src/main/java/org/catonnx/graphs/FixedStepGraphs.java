package org.catonnx.graphs;

import org.catonnx.models.CatLm;
import org.catonnx.models.DenseLm;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Variant;
import org.catonnx.nn.BuildContext;
import org.catonnx.nn.CatSequence;
import org.catonnx.nn.GraphOptions;
import org.catonnx.nn.TransformerBlock;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.TensorData;
import org.catonnx.onnx.Value;

import java.util.ArrayList;
import java.util.List;

/**
 * One greedy decoding step per run, every shape fixed (batch included) and no control flow:
 * the graphs ONNX Runtime can capture as CUDA graphs and replay, with every input and output
 * bound to buffers the caller owns (runtime's bound sessions). The caches are the fused
 * decoding's fixed buffers [B,Hkv,slots,hd] (see GenerationLoopGraphs): each {@code present.i.*}
 * output is meant to be bound to the same buffer as its {@code past.i.*} input, so
 * the attention operator (GroupQueryAttention, or our CatDecodeAttention with attention form
 * custom) writes the one new entry in place.
 * <ul>
 * <li>{@code step}: {@code input_ids} [B,1], {@code summary} [B,1,D] (CAT) and {@code step}
 *     int64 [3] = (mode, RoPE position, cache slot) in; {@code next_token} [B,1] (the argmax)
 *     out. Mode 0 feeds the token, 1 the summary, 2 CAT's dummy summary. Bind {@code next_token}
 *     to a buffer of its own: with CUDA graphs ONNX Runtime runs the first step several times,
 *     which must not feed the step its own output.</li>
 * <li>{@code compress} (CAT): {@code chunk_ids} [chunk, B] (token-major, so each fed token is
 *     one contiguous row) and {@code chunk_index} [1] in, {@code summary} [B,1,D] out.</li>
 * </ul>
 * GroupQueryAttention's total_sequence_length is the buffer length, a constant: it is read on the
 * host, which a replayed graph never does again; the valid lengths come from seqlens_k.
 */
public final class FixedStepGraphs {
    public static final String STEP = "step";
    public static final String SUMMARY = "summary";
    public static final String NEXT_TOKEN = "next_token";
    public static final String CHUNK_IDS = "chunk_ids";
    public static final String CHUNK_INDEX = "chunk_index";
    /** step modes (the first element of the step input) */
    public static final long FEED_TOKEN = 0, FEED_SUMMARY = 1, FEED_DUMMY = 2;

    private FixedStepGraphs() {}

    public static String past(int layer, String part) { return DecodeGraphs.past(layer, part); }
    public static String present(int layer, String part) { return DecodeGraphs.present(layer, part); }

    /** Cache slots per layer: dense one per position; CAT every summary plus one chunk. */
    public static int slots(ModelSpec spec, int chunk) {
        return spec.variant == Variant.TRANSFORMER ? spec.blockSize() : GenerationLoopGraphs.catSlots(spec, chunk);
    }

    public static Graph catStep(ModelSpec spec, WeightSource w, int chunk, int batch, GraphOptions o) {
        requireBatch(batch);
        if (spec.variant != Variant.CAT) throw new IllegalArgumentException("fixed-shape step graphs are built for fixed-chunk CAT and the dense model, not " + spec.variant.id);
        Graph g = Graph.create(ForwardGraphs.name(spec, chunk, "fixed_step_b" + batch));
        BuildContext c = new BuildContext(g, w, o);
        CatLm m = new CatLm(c, spec, chunk);
        Value ids = g.input(ForwardGraphs.INPUT_IDS, DType.INT64, batch, 1);
        Value summary = g.input(SUMMARY, o.precision, batch, 1, spec.decoder.dim);
        Value step = g.input(STEP, DType.INT64, 3);
        List<Value[]> cache = buffers(g, spec, o.precision, batch, slots(spec, chunk));
        Value mode = g.slice(step, 0, 0, 1);
        Value dummy = g.squeeze(CatSequence.broadcastRow(g, m.dummyFx(), 0, g.constInt64(batch, 1, 1, 1)), 2);
        Value x = g.where(g.equal(mode, g.constInt64(FEED_DUMMY)), dummy,
                g.where(g.equal(mode, g.constInt64(FEED_SUMMARY)), summary, m.wte().forward(ids)));
        Value h = decoder(c, m.layers(), m.blockLength(), x, step, batch, slots(spec, chunk), cache);
        Value logits = GenerationLoopGraphs.catLogits(c, m, h);
        return outputs(g, GenerationLoopGraphs.pick(g, logits, spec.vocabSize()), cache);
    }

    public static Graph catCompress(ModelSpec spec, WeightSource w, int chunk, int batch, GraphOptions o) {
        requireBatch(batch);
        if (spec.variant != Variant.CAT) throw new IllegalArgumentException("fixed-shape compress graph for " + spec.variant.id);
        Graph g = Graph.create(ForwardGraphs.name(spec, chunk, "fixed_compress_b" + batch));
        BuildContext c = new BuildContext(g, w, o);
        CatLm m = new CatLm(c, spec, chunk);
        Value ids = g.input(CHUNK_IDS, DType.INT64, chunk, batch);
        Value index = g.input(CHUNK_INDEX, DType.INT64, 1);
        g.output(SUMMARY, m.compressor().forward(g.unsqueeze(g.transpose(ids, 1, 0), 1), index));   // [B,1,D]
        return g;
    }

    public static Graph denseStep(ModelSpec spec, WeightSource w, int batch, GraphOptions o) {
        requireBatch(batch);
        if (spec.variant != Variant.TRANSFORMER) throw new IllegalArgumentException("dense fixed-shape step graph for " + spec.variant.id);
        Graph g = Graph.create(ForwardGraphs.name(spec, 0, "fixed_step_b" + batch));
        BuildContext c = new BuildContext(g, w, o);
        DenseLm m = new DenseLm(c, spec.decoder);
        Value ids = g.input(ForwardGraphs.INPUT_IDS, DType.INT64, batch, 1);
        Value step = g.input(STEP, DType.INT64, 3);
        List<Value[]> cache = buffers(g, spec, o.precision, batch, slots(spec, 0));
        Value h = decoder(c, m.layers(), spec.blockSize(), m.wte().forward(ids), step, batch, slots(spec, 0), cache);
        Value logits = g.squeeze(g.cast(m.output().forward(m.norm().forward(h)), DType.FLOAT), 1);
        return outputs(g, GenerationLoopGraphs.pick(g, logits, spec.vocabSize()), cache);
    }

    /** The decoder layers at step = (mode, position, slot); the caches are replaced by the presents. */
    private static Value decoder(BuildContext c, List<TransformerBlock> layers, int positionLimit, Value x, Value step,
                                 int batch, int slots, List<Value[]> cache) {
        Graph g = c.g;
        Value position = g.slice(step, 0, 1, 2);
        Value slot = g.slice(step, 0, 2, 3);
        Value seqlens = g.cast(g.expand(slot, g.constInt64(batch)), DType.INT32);   // valid entries before the new one
        Value total = g.constant(TensorData.ofInts(new int[] {slots}, 1));
        return GenerationLoopGraphs.fusedDecoderStep(c, layers, positionLimit, x, position, seqlens, total, cache);
    }

    private static List<Value[]> buffers(Graph g, ModelSpec spec, DType type, int batch, int slots) {
        List<Value[]> l = new ArrayList<>();
        for (int i = 0; i < spec.decoder.nLayer; i++) {
            l.add(new Value[] {
                    g.input(past(i, "k"), type, batch, spec.decoder.nLocalHeads, slots, spec.decoder.headDim),
                    g.input(past(i, "v"), type, batch, spec.decoder.nLocalHeads, slots, spec.decoder.headDim)});
        }
        return l;
    }

    private static Graph outputs(Graph g, Value next, List<Value[]> cache) {
        g.output(NEXT_TOKEN, g.unsqueeze(next, 1));
        for (int i = 0; i < cache.size(); i++) {
            g.output(present(i, "k"), cache.get(i)[0]);
            g.output(present(i, "v"), cache.get(i)[1]);
        }
        return g;
    }

    private static void requireBatch(int batch) {
        if (batch < 1) throw new IllegalArgumentException("batch must be at least 1, got " + batch);
    }
}
