package org.catonnx.graphs;

import org.catonnx.nn.GraphOptions;
import org.catonnx.models.CatLayerLm;
import org.catonnx.models.ModelConfig;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Variant;
import org.catonnx.nn.BuildContext;
import org.catonnx.nn.CachedAttention;
import org.catonnx.nn.CatLayerAttention;
import org.catonnx.nn.Rope;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Value;

import java.util.ArrayList;
import java.util.List;

/**
 * Cached decoding for CAT-as-a-layer models and hybrids (the reference has none: derived from
 * the same masks). Per CAT layer i the state is its compressed entries ("ck"/"cv", dummy first),
 * the current chunk's token entries ("tk"/"tv") and the chunk's normed layer inputs ("xs",
 * which that layer's compressor needs when the chunk completes); dense layers keep "k"/"v".
 * <ul>
 * <li>{@code start}: the dummy entries of every CAT layer;</li>
 * <li>{@code tokens}: tokens that do not complete their chunk, from global position "position";</li>
 * <li>{@code chunk_end}: one token completing a chunk: each CAT layer compresses the chunk and
 *     the token's output is its summary's, as in the full forward.</li>
 * </ul>
 */
public final class LayerDecodeGraphs {
    private LayerDecodeGraphs() {}

    public static Graph start(ModelSpec spec, WeightSource w, GraphOptions o) {
        Graph g = Graph.create(ForwardGraphs.name(spec, spec.chunkSize(), "start"));
        BuildContext c = new BuildContext(g, w, o);
        CatLayerLm m = model(spec, c);
        Value ids = g.input(ForwardGraphs.INPUT_IDS, DType.INT64, "batch", "seq");
        for (int i = 0; i < spec.decoder.nLayer; i++) {
            CatLayerAttention cat = m.catLayer(i);
            if (cat == null) continue;
            Value[] kv = cat.dummyKeysValues(ids);
            g.output(DecodeGraphs.present(i, "ck"), kv[0]);
            g.output(DecodeGraphs.present(i, "cv"), kv[1]);
        }
        return g;
    }

    public static Graph tokens(ModelSpec spec, WeightSource w, GraphOptions o) {
        return step(spec, w, o, false);
    }

    public static Graph chunkEnd(ModelSpec spec, WeightSource w, GraphOptions o) {
        return step(spec, w, o, true);
    }

    private static Graph step(ModelSpec spec, WeightSource w, GraphOptions o, boolean end) {
        Graph g = Graph.create(ForwardGraphs.name(spec, spec.chunkSize(), end ? "chunk_end" : "tokens"));
        BuildContext c = new BuildContext(g, w, o);
        CatLayerLm m = model(spec, c);
        ModelConfig d = spec.decoder;
        int l = spec.chunkSize(), fx = d.dimFx;
        Value ids = g.input(ForwardGraphs.INPUT_IDS, DType.INT64, "batch", end ? 1 : "n");
        Value position = g.input(DecodeGraphs.POSITION, DType.INT64, 1);
        Value steps = g.range(g.scalarInt64(0), g.squeeze(g.shape(ids, 1), 0), g.scalarInt64(1));
        Value global = g.add(steps, position);
        Value local = g.add(g.add(steps, g.mod(position, g.constInt64(l))), g.constInt64(1));
        Value[] denseRope = null;
        Value x = m.wte().forward(ids);
        List<Runnable> outputs = new ArrayList<>();
        for (int i = 0; i < d.nLayer; i++) {
            final int layer = i;
            CatLayerAttention cat = m.catLayer(i);
            if (cat == null) {
                if (denseRope == null) denseRope = Rope.rows(g, m.layers().get(i).attention().rope().tables(spec.blockSize()), global);
                Value k = g.input(DecodeGraphs.past(i, "k"), o.precision, "batch", d.nLocalHeads, "past", d.headDim);
                Value v = g.input(DecodeGraphs.past(i, "v"), o.precision, "batch", d.nLocalHeads, "past", d.headDim);
                CachedAttention a = new CachedAttention(k, v);
                x = m.layers().get(i).forward(x, denseRope[0], denseRope[1], a);
                outputs.add(() -> {
                    g.output(DecodeGraphs.present(layer, "k"), g.concat(2, k, a.newKeys()));
                    g.output(DecodeGraphs.present(layer, "v"), g.concat(2, v, a.newValues()));
                });
                continue;
            }
            int h = cat.heads();
            Value ck = g.input(DecodeGraphs.past(i, "ck"), o.precision, "batch", h, "chunks", 64);
            Value cv = g.input(DecodeGraphs.past(i, "cv"), o.precision, "batch", h, "chunks", 64);
            Value xs = g.input(DecodeGraphs.past(i, "xs"), o.precision, "batch", "filled", d.dim);
            Value[] res = new Value[4];
            if (end) {
                x = m.layers().get(i).forward(x, normed -> {
                    Value[] r = cat.chunkEnd(normed, xs, ck, cv);
                    res[0] = r[1];
                    res[1] = r[2];
                    return r[0];
                });
                outputs.add(() -> {
                    g.output(DecodeGraphs.present(layer, "ck"), g.concat(2, ck, res[0]));
                    g.output(DecodeGraphs.present(layer, "cv"), g.concat(2, cv, res[1]));
                    g.output(DecodeGraphs.present(layer, "tk"), g.slice(res[0], 2, 0, 0));
                    g.output(DecodeGraphs.present(layer, "tv"), g.slice(res[1], 2, 0, 0));
                    g.output(DecodeGraphs.present(layer, "xs"), g.slice(xs, 1, 0, 0));
                });
            } else {
                Value tk = g.input(DecodeGraphs.past(i, "tk"), o.precision, "batch", h, "local", 64);
                Value tv = g.input(DecodeGraphs.past(i, "tv"), o.precision, "batch", h, "local", 64);
                x = m.layers().get(i).forward(x, normed -> {
                    Value[] r = cat.tokens(normed, local, g.concat(2, ck, tk), g.concat(2, cv, tv));
                    res[0] = r[1];
                    res[1] = r[2];
                    res[2] = normed;
                    return r[0];
                });
                outputs.add(() -> {
                    g.output(DecodeGraphs.present(layer, "tk"), g.concat(2, tk, res[0]));
                    g.output(DecodeGraphs.present(layer, "tv"), g.concat(2, tv, res[1]));
                    g.output(DecodeGraphs.present(layer, "xs"), g.concat(1, xs, res[2]));
                });
            }
        }
        g.output(ForwardGraphs.LOGITS, g.cast(m.output().forward(m.norm().forward(x)), c.accumulate()));
        outputs.forEach(Runnable::run);
        return g;
    }

    private static CatLayerLm model(ModelSpec spec, BuildContext c) {
        if (spec.variant != Variant.CAT_LAYER) throw new IllegalArgumentException("layer decode graphs for " + spec.variant.id);
        return new CatLayerLm(c, spec);
    }
}
