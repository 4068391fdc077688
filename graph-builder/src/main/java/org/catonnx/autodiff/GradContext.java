package org.catonnx.autodiff;

import org.catonnx.onnx.DType;
import org.catonnx.onnx.Dim;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.GraphBuildException;
import org.catonnx.onnx.Node;
import org.catonnx.onnx.Shape;
import org.catonnx.onnx.TensorData;
import org.catonnx.onnx.Value;

import java.util.ArrayList;
import java.util.List;

/**
 * Helpers the gradient rules share: zeros, shape-preserving reshapes, constant look-ups and
 * unbroadcasting (summing a gradient over the axes an operand was broadcast along).
 * Rules reason about shapes of the forward values, never of the gradients, since gradient
 * values may carry less static shape information.
 */
public final class GradContext {
    public final Graph g;

    GradContext(Graph g) {
        this.g = g;
    }

    // ---------------------------------------------------------------- constants

    /** Contents of a value known at build time: small int64 constants or non-trainable initializers. */
    public TensorData constData(Value v) {
        if (v == null) return null;
        if (v.constant() != null) return v.constant();
        Graph.Initializer i = g.initializers().get(v.name());
        if (i != null && !i.trainable && i.value == v) return i.data;
        return null;
    }

    public long[] constLongs(Value v) {
        TensorData d = constData(v);
        if (d == null || (d.type() != DType.INT64 && d.type() != DType.INT32)) return null;
        return d.toLongs();
    }

    public Value scalar(double v, DType t) {
        return g.scalar(v, t);
    }

    static TensorData zeroOf(DType t) {
        switch (t) {
            case DOUBLE: return TensorData.ofDoubles(new double[] {0}, 1);
            case INT64: return TensorData.ofLongs(new long[] {0}, 1);
            default: return TensorData.ofFloats(new float[] {0}, 1).castTo(t);
        }
    }

    // ---------------------------------------------------------------- shapes

    /** The runtime shape of x, as a constant when static. */
    public Value shapeOf(Value x) {
        if (x.shape().hasRank() && x.shape().isStatic()) return g.constInt64(x.shape().toArray());
        return g.shape(x);
    }

    /** One dimension of x as a 1-element int64 tensor (a constant when static). */
    public Value dimOf(Value x, int axis) {
        Dim d = x.dim(axis);
        if (d.isStatic()) return g.constInt64(d.size());
        return g.shape(x, axis);
    }

    public Value zerosLike(Value x) {
        return g.constantOfShape(shapeOf(x), zeroOf(x.type()));
    }

    /** grad reshaped to x's shape (a no-op when the inferred shapes already agree). */
    public Value reshapeLike(Value grad, Value x) {
        if (grad.shape().hasRank() && grad.shape().equals(x.shape()) && x.shape().isStatic()) return grad;
        return g.reshape(grad, shapeOf(x));
    }

    /** grad reshaped to x's shape when that is static and the inferred shapes differ; else grad. */
    public Value reshapeLikeIfStatic(Value grad, Value x) {
        if (!x.shape().isStatic() || grad.shape().equals(x.shape())) return grad;
        return g.reshape(grad, x.shape().toArray());
    }

    public Value castLike(Value grad, Value x) {
        return grad.type() == x.type() ? grad : g.cast(grad, x.type());
    }

    /** Swaps the last two axes. */
    public Value transposeLast(Value x) {
        int r = x.rank();
        long[] perm = new long[r];
        for (int i = 0; i < r; i++) perm[i] = i;
        perm[r - 1] = r - 2;
        perm[r - 2] = r - 1;
        return g.transpose(x, perm);
    }

    /**
     * Sums grad (shaped like a broadcast result of rank outRank) down to x's shape. others are
     * the shapes of the other operands that took part in the broadcast (right-aligned); they
     * decide where x cannot have been broadcast when dimensions are not static. Where that
     * stays open, the sum is chosen at run time (x's dimension is 1 or not).
     */
    public Value unbroadcast(Value grad, Value x, int outRank, List<Shape> others) {
        Shape xs = x.shape();
        if (!xs.hasRank()) throw new GraphBuildException("cannot unbroadcast to " + x + ": unknown rank");
        int rx = xs.rank();
        Value r = grad;
        if (outRank > rx) {
            long[] lead = new long[outRank - rx];
            for (int i = 0; i < lead.length; i++) lead[i] = i;
            r = g.reduceSum(r, false, lead);
        }
        List<Long> axes = new ArrayList<>();
        List<Integer> ambiguous = new ArrayList<>();
        for (int i = 0; i < rx; i++) {
            Dim dx = xs.dim(i);
            if (dx.isStatic() && dx.size() == 1) {
                if (!othersAllOne(others, outRank, outRank - rx + i)) axes.add((long) i);
                continue;
            }
            if (dx.isStatic()) continue; // a dimension other than 1 is never broadcast
            if (othersAllOne(others, outRank, outRank - rx + i)) continue;
            if (othersSameAs(others, outRank, outRank - rx + i, dx)) continue;
            ambiguous.add(i);
        }
        if (!axes.isEmpty()) {
            long[] a = new long[axes.size()];
            for (int i = 0; i < a.length; i++) a[i] = axes.get(i);
            r = g.reduceSum(r, true, a);
        }
        // dimensions that may or may not have been broadcast: sum when x's is 1 at run time
        for (int i : ambiguous) {
            Value xi = g.shape(x, i);
            Value summed = g.where(g.equal(xi, g.constInt64(1)), g.reduceSum(r, true, i), r);
            r = g.slice(summed, g.constInt64(0), xi, g.constInt64(i), null);
        }
        return xs.isStatic() ? reshapeLike(r, x) : r;
    }

    private static boolean othersAllOne(List<Shape> others, int outRank, int outAxis) {
        for (Shape s : others) {
            if (!s.hasRank()) return false;
            int k = outAxis - (outRank - s.rank());
            if (k < 0) continue;
            Dim d = s.dim(k);
            if (!(d.isStatic() && d.size() == 1)) return false;
        }
        return true;
    }

    private static boolean othersSameAs(List<Shape> others, int outRank, int outAxis, Dim dx) {
        for (Shape s : others) {
            if (!s.hasRank()) return false;
            int k = outAxis - (outRank - s.rank());
            if (k < 0) continue;
            Dim d = s.dim(k);
            if (d.isStatic() && d.size() == 1) continue;
            if (!d.sameAs(dx)) return false;
        }
        return true;
    }

    /** Shapes of a node's inputs other than input i (nulls skipped). */
    public static List<Shape> otherShapes(Node n, int i) {
        List<Shape> l = new ArrayList<>();
        for (int j = 0; j < n.inputs.size(); j++) {
            if (j != i && n.input(j) != null) l.add(n.input(j).shape());
        }
        return l;
    }

    /** Normalizes axis against rank. */
    public static int axis(long axis, int rank) {
        return (int) (axis < 0 ? axis + rank : axis);
    }
}
