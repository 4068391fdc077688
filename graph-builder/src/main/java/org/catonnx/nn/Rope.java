package org.catonnx.nn;

import org.catonnx.onnx.Graph;
import org.catonnx.onnx.TensorData;
import org.catonnx.onnx.Value;

/**
 * Rotary embedding, "rotate half" form, on the first nElem dims of each head (CAT.md section 2).
 * Tables are computed with float32 arithmetic in the same order as the reference's
 * build_rope_cache so angles round the same way.
 */
public final class Rope {
    private final BuildContext c;
    private final int nElem;
    private final double base;

    public Rope(BuildContext c, int nElem, double base) {
        this.c = c;
        this.nElem = nElem;
        this.base = base;
    }

    /** {cos, sin} for positions 0..count-1, each [count, nElem] in the accumulation type. */
    public Value[] tables(int count) {
        float[] cos = new float[count * nElem], sin = new float[count * nElem];
        int half = nElem / 2;
        for (int i = 0; i < half; i++) {
            float expo = (float) (2 * i) / (float) nElem;
            float theta = (float) (1.0 / (float) Math.pow((float) base, expo));
            for (int p = 0; p < count; p++) {
                float angle = (float) p * theta;
                cos[p * nElem + i] = cos[p * nElem + i + half] = (float) Math.cos(angle);
                sin[p * nElem + i] = sin[p * nElem + i + half] = (float) Math.sin(angle);
            }
        }
        String tag = "rope" + nElem + "_" + (long) base + "_" + count;
        TensorData ct = TensorData.ofFloats(cos, count, nElem).castTo(c.accumulate());
        TensorData st = TensorData.ofFloats(sin, count, nElem).castTo(c.accumulate());
        return new Value[] {constant(tag + ".cos", ct), constant(tag + ".sin", st)};
    }

    private Value constant(String name, TensorData t) {
        // one table per size per model, shared by every layer
        for (Graph.Initializer i : c.g.initializers().values()) if (i.value.name().equals(name)) return i.value;
        return c.g.initializer(name, t, false);
    }

    /** {cos[:n], sin[:n]} with n a 1-element int64 tensor. */
    public static Value[] firstN(Graph g, Value[] tables, Value n) {
        Value zero = g.constInt64(0), axis = g.constInt64(0);
        return new Value[] {g.slice(tables[0], zero, n, axis, null), g.slice(tables[1], zero, n, axis, null)};
    }

    /** {cos, sin} rows at the given positions [n] (int64). */
    public static Value[] rows(Graph g, Value[] tables, Value positions) {
        return new Value[] {g.gather(tables[0], positions, 0), g.gather(tables[1], positions, 0)};
    }

    /** x: [..., P, head_dim]; cos/sin: [P, nElem] (broadcast over leading axes). */
    public Value apply(Value x, Value cos, Value sin) {
        Graph g = c.g;
        int headDim = (int) x.dim(-1).size();
        Value xf = g.cast(x, c.accumulate());
        Value rot = xf, pass = null;
        if (nElem < headDim) {
            Value[] parts = g.split(xf, -1, nElem, headDim - nElem);
            rot = parts[0];
            pass = parts[1];
        }
        Value[] halves = g.split(rot, -1, nElem / 2, nElem / 2);
        Value rotated = g.concat(-1, g.neg(halves[1]), halves[0]);
        Value y = g.add(g.mul(rot, cos), g.mul(rotated, sin));
        if (pass != null) y = g.concat(-1, y, pass);
        return g.cast(y, x.type());
    }
}
