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
        float[][] half = angles(count);
        int h = nElem / 2;
        float[] cos = new float[count * nElem], sin = new float[count * nElem];
        for (int p = 0; p < count; p++) {
            for (int i = 0; i < h; i++) {
                cos[p * nElem + i] = cos[p * nElem + i + h] = half[0][p * h + i];
                sin[p * nElem + i] = sin[p * nElem + i + h] = half[1][p * h + i];
            }
        }
        String tag = "rope" + nElem + "_" + (long) base + "_" + count;
        TensorData ct = TensorData.ofFloats(cos, count, nElem).castTo(c.accumulate());
        TensorData st = TensorData.ofFloats(sin, count, nElem).castTo(c.accumulate());
        return new Value[] {constant(tag + ".cos", ct), constant(tag + ".sin", st)};
    }

    /**
     * {cos, sin} for positions 0..count-1 as [count, nElem/2] in the model precision: the layout of
     * ONNX Runtime's RotaryEmbedding caches (both halves of the rotate-half form share an angle).
     */
    public Value[] halfTables(int count) {
        float[][] half = angles(count);
        String tag = "rope_half" + nElem + "_" + (long) base + "_" + count + "_" + c.dtype;
        return new Value[] {constant(tag + ".cos", TensorData.ofFloats(half[0], count, nElem / 2).castTo(c.dtype)),
                constant(tag + ".sin", TensorData.ofFloats(half[1], count, nElem / 2).castTo(c.dtype))};
    }

    /** cos and sin of position * theta_i, [count, nElem/2], in float32 arithmetic like build_rope_cache. */
    private float[][] angles(int count) {
        int half = nElem / 2;
        float[] cos = new float[count * half], sin = new float[count * half];
        for (int i = 0; i < half; i++) {
            float expo = (float) (2 * i) / (float) nElem;
            float theta = (float) (1.0 / (float) Math.pow((float) base, expo));
            for (int p = 0; p < count; p++) {
                float angle = (float) p * theta;
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        }
        return new float[][] {cos, sin};
    }

    public int nElem() { return nElem; }

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
