package org.catonnx.autodiff;

import org.catonnx.onnx.DType;
import org.catonnx.onnx.Dim;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.GraphBuildException;
import org.catonnx.onnx.Node;
import org.catonnx.onnx.Op;
import org.catonnx.onnx.Shape;
import org.catonnx.onnx.TensorData;
import org.catonnx.onnx.Value;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** One gradient rule per differentiable forward operator. */
public final class GradientRules {
    private static final Map<Op, GradientRule> RULES = new EnumMap<>(Op.class);

    static {
        // elementwise arithmetic with broadcasting
        RULES.put(Op.ADD, (c, n, gy, w) -> new Value[] {
                w[0] ? ub(c, n, 0, gy[0]) : null, w[1] ? ub(c, n, 1, gy[0]) : null});
        RULES.put(Op.SUB, (c, n, gy, w) -> new Value[] {
                w[0] ? ub(c, n, 0, gy[0]) : null, w[1] ? ub(c, n, 1, c.g.neg(gy[0])) : null});
        RULES.put(Op.MUL, (c, n, gy, w) -> new Value[] {
                w[0] ? ub(c, n, 0, c.g.mul(gy[0], n.input(1))) : null,
                w[1] ? ub(c, n, 1, c.g.mul(gy[0], n.input(0))) : null});
        RULES.put(Op.DIV, (c, n, gy, w) -> {
            Value b = n.input(1);
            Value ga = c.g.div(gy[0], b);
            return new Value[] {
                    w[0] ? ub(c, n, 0, ga) : null,
                    // d(a/b)/db = -a/b^2 = -(g/b) * y
                    w[1] ? ub(c, n, 1, c.g.neg(c.g.mul(ga, n.output(0)))) : null};
        });
        RULES.put(Op.POW, GradientRules::pow);
        RULES.put(Op.WHERE, (c, n, gy, w) -> {
            Value zero = c.scalar(0, gy[0].type());
            return new Value[] {null,
                    w[1] ? ub(c, n, 1, c.g.where(n.input(0), gy[0], zero)) : null,
                    w[2] ? ub(c, n, 2, c.g.where(n.input(0), zero, gy[0])) : null};
        });
        // elementwise unary
        RULES.put(Op.NEG, (c, n, gy, w) -> new Value[] {c.g.neg(gy[0])});
        RULES.put(Op.IDENTITY, (c, n, gy, w) -> new Value[] {gy[0]});
        RULES.put(Op.SQRT, (c, n, gy, w) -> new Value[] {
                c.g.div(c.g.mul(gy[0], c.scalar(0.5, gy[0].type())), n.output(0))});
        RULES.put(Op.RECIPROCAL, (c, n, gy, w) -> {
            Value y = n.output(0);
            return new Value[] {c.g.neg(c.g.mul(gy[0], c.g.mul(y, y)))};
        });
        RULES.put(Op.EXP, (c, n, gy, w) -> new Value[] {c.g.mul(gy[0], n.output(0))});
        RULES.put(Op.LOG, (c, n, gy, w) -> new Value[] {c.g.div(gy[0], n.input(0))});
        RULES.put(Op.SIGMOID, (c, n, gy, w) -> {
            Value y = n.output(0);
            Value one = c.scalar(1, y.type());
            return new Value[] {c.g.mul(gy[0], c.g.mul(y, c.g.sub(one, y)))};
        });
        RULES.put(Op.TANH, (c, n, gy, w) -> {
            Value y = n.output(0);
            return new Value[] {c.g.mul(gy[0], c.g.sub(c.scalar(1, y.type()), c.g.mul(y, y)))};
        });
        RULES.put(Op.SIN, (c, n, gy, w) -> new Value[] {c.g.mul(gy[0], c.g.cos(n.input(0)))});
        RULES.put(Op.COS, (c, n, gy, w) -> new Value[] {c.g.neg(c.g.mul(gy[0], c.g.sin(n.input(0))))});
        RULES.put(Op.ABS, (c, n, gy, w) -> {
            Value x = n.input(0);
            Value neg = c.g.less(x, c.scalar(0, x.type()));
            return new Value[] {c.g.where(neg, c.g.neg(gy[0]), gy[0])};
        });
        RULES.put(Op.CLIP, (c, n, gy, w) -> {
            Value x = n.input(0);
            Value keep = null;
            if (n.input(1) != null) keep = c.g.greaterOrEqual(x, n.input(1));
            if (n.input(2) != null) {
                Value le = c.g.lessOrEqual(x, n.input(2));
                keep = keep == null ? le : c.g.and(keep, le);
            }
            Value gx = keep == null ? gy[0] : c.g.where(keep, gy[0], c.scalar(0, gy[0].type()));
            return new Value[] {gx, null, null};
        });
        // piecewise constant: zero gradient
        RULES.put(Op.FLOOR, (c, n, gy, w) -> new Value[] {null});
        RULES.put(Op.CEIL, (c, n, gy, w) -> new Value[] {null});
        RULES.put(Op.CAST, (c, n, gy, w) -> {
            Value x = n.input(0);
            return new Value[] {x.type().isFloating() ? c.g.cast(gy[0], x.type()) : null};
        });
        // linear algebra
        RULES.put(Op.MATMUL, GradientRules::matMul);
        RULES.put(Op.GEMM, GradientRules::gemm);
        // reductions and normalizations
        RULES.put(Op.REDUCE_SUM, (c, n, gy, w) -> new Value[] {reduceBack(c, n, gy[0], false), null});
        RULES.put(Op.REDUCE_MEAN, (c, n, gy, w) -> new Value[] {reduceBack(c, n, gy[0], true), null});
        RULES.put(Op.REDUCE_SUM_SQUARE, (c, n, gy, w) -> {
            Value x = n.input(0);
            Value back = reduceBack(c, n, gy[0], false);
            return new Value[] {c.g.mul(back, c.g.mul(x, c.scalar(2, x.type()))), null};
        });
        RULES.put(Op.SOFTMAX, (c, n, gy, w) -> {
            Value y = n.output(0);
            long ax = n.intAttr("axis", -1);
            Value s = c.g.reduceSum(c.g.mul(gy[0], y), true, ax);
            return new Value[] {c.g.mul(y, c.g.sub(gy[0], s))};
        });
        RULES.put(Op.LOG_SOFTMAX, (c, n, gy, w) -> {
            Value y = n.output(0);
            long ax = n.intAttr("axis", -1);
            Value s = c.g.reduceSum(gy[0], true, ax);
            return new Value[] {c.g.sub(gy[0], c.g.mul(c.g.exp(y), s))};
        });
        RULES.put(Op.CUM_SUM, (c, n, gy, w) -> new Value[] {
                c.g.cumSum(gy[0], n.input(1), n.intAttr("exclusive", 0) != 0, n.intAttr("reverse", 0) == 0), null});
        RULES.put(Op.TRILU, (c, n, gy, w) -> new Value[] {
                n.input(1) == null ? c.g.trilu(gy[0], 0, n.intAttr("upper", 1) != 0)
                        : trilu(c, gy[0], n.input(1), n.intAttr("upper", 1) != 0), null});
        // indexing
        RULES.put(Op.GATHER, GradientRules::gather);
        RULES.put(Op.GATHER_ELEMENTS, (c, n, gy, w) -> {
            Value data = n.input(0);
            Value idx = n.input(1);
            if (idx.type() != DType.INT64) idx = c.g.cast(idx, DType.INT64);
            return new Value[] {c.g.scatterElements(c.zerosLike(data), idx, gy[0], n.intAttr("axis", 0), "add"), null};
        });
        // shape manipulation
        RULES.put(Op.RESHAPE, (c, n, gy, w) -> new Value[] {c.reshapeLike(gy[0], n.input(0)), null});
        RULES.put(Op.UNSQUEEZE, (c, n, gy, w) -> {
            long[] axes = c.constLongs(n.input(1));
            Value gx = axes != null ? c.g.squeeze(gy[0], axes) : c.reshapeLike(gy[0], n.input(0));
            return new Value[] {gx, null};
        });
        RULES.put(Op.SQUEEZE, (c, n, gy, w) -> {
            long[] axes = n.input(1) == null ? null : c.constLongs(n.input(1));
            Value gx = axes != null ? c.g.unsqueeze(gy[0], axes) : c.reshapeLike(gy[0], n.input(0));
            return new Value[] {gx, null};
        });
        RULES.put(Op.TRANSPOSE, (c, n, gy, w) -> {
            int r = n.input(0).rank();
            long[] perm = n.intsAttr("perm");
            if (perm == null) {
                perm = new long[r];
                for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
            }
            long[] inv = new long[r];
            for (int i = 0; i < r; i++) inv[(int) perm[i]] = i;
            return new Value[] {c.g.transpose(gy[0], inv)};
        });
        RULES.put(Op.EXPAND, (c, n, gy, w) -> new Value[] {
                c.unbroadcast(gy[0], n.input(0), n.output(0).rank(), List.of(n.output(0).shape())), null});
        RULES.put(Op.CONCAT, GradientRules::concat);
        RULES.put(Op.SPLIT, GradientRules::split);
        RULES.put(Op.SLICE, GradientRules::slice);
        RULES.put(Op.PAD, GradientRules::pad);
    }

    private GradientRules() {}

    /** The rule for an operator, or null when it has none. */
    public static GradientRule rule(Op op) {
        return RULES.get(op);
    }

    /** Operators with a gradient rule. */
    public static java.util.Set<Op> supported() {
        return Collections.unmodifiableSet(RULES.keySet());
    }

    static GraphBuildException unsupported(Node n, String why) {
        return new GraphBuildException(n.name + " (" + n.op.onnxType + "): no gradient: " + why);
    }

    // ---------------------------------------------------------------- elementwise

    /** Unbroadcast a gradient of the node's output to input i. */
    private static Value ub(GradContext c, Node n, int i, Value grad) {
        Value x = n.input(i);
        return c.castLike(c.unbroadcast(grad, x, n.output(0).rank(), GradContext.otherShapes(n, i)), x);
    }

    private static Value[] pow(GradContext c, Node n, Value[] gy, boolean[] w) {
        Value a = n.input(0), e = n.input(1), y = n.output(0);
        Value ga = null, ge = null;
        if (w[0]) {
            TensorData ed = c.constData(e);
            Value em1;
            Value ecast;
            if (ed != null && ed.type().isFloating()) {
                double[] v = ed.toDoubles();
                double[] m = new double[v.length];
                for (int i = 0; i < v.length; i++) m[i] = v[i] - 1;
                TensorData em1d = TensorData.ofDoubles(m, ed.shape());
                TensorData ecd = TensorData.ofDoubles(v, ed.shape());
                em1 = c.g.constant(a.type() == DType.DOUBLE ? em1d : em1d.castTo(a.type()));
                ecast = c.g.constant(a.type() == DType.DOUBLE ? ecd : ecd.castTo(a.type()));
            } else {
                ecast = e.type() == a.type() ? e : c.g.cast(e, a.type());
                em1 = c.g.sub(ecast, c.scalar(1, a.type()));
            }
            ga = ub(c, n, 0, c.g.mul(gy[0], c.g.mul(ecast, c.g.pow(a, em1))));
        }
        if (w[1]) {
            Value t = c.g.mul(gy[0], c.g.mul(y, c.g.log(a)));
            if (t.type() != e.type()) t = c.g.cast(t, e.type());
            ge = c.castLike(c.unbroadcast(t, e, y.rank(), GradContext.otherShapes(n, 1)), e);
        }
        return new Value[] {ga, ge};
    }

    // ---------------------------------------------------------------- linear algebra

    private static Value[] matMul(GradContext c, Node n, Value[] gy, boolean[] w) {
        Graph g = c.g;
        Value a = n.input(0), b = n.input(1), dy = gy[0];
        int ra = a.rank(), rb = b.rank();
        Value ga = null, gb = null;
        // common case: x [.., M, K] @ W [K, N] with static K, N: dW as one 2-D product
        boolean flatB = ra >= 2 && rb == 2 && a.dim(-1).isStatic() && b.dim(1).isStatic();
        Value a1 = ra == 1 ? g.unsqueeze(a, 0) : a;
        Value b1 = rb == 1 ? g.unsqueeze(b, -1) : b;
        Value dy1 = dy;
        if (ra == 1) dy1 = g.unsqueeze(dy1, -2);
        if (rb == 1) dy1 = g.unsqueeze(dy1, -1);
        int rOut = Math.max(a1.rank(), b1.rank());
        if (w[0]) {
            Value d = g.matMul(dy1, c.transposeLast(b1));
            d = c.unbroadcast(d, a1, rOut, List.of(batchShape(b1)));
            ga = ra == 1 ? g.reshape(d, c.shapeOf(a)) : d;
        }
        if (w[1]) {
            if (flatB && ra > 2) {
                long k = a.dim(-1).size(), nn = b.dim(1).size();
                Value a2 = g.reshape(a, -1, k), d2 = g.reshape(dy, -1, nn);
                gb = g.matMul(c.transposeLast(a2), d2);
            } else {
                Value d = g.matMul(c.transposeLast(a1), dy1);
                d = c.unbroadcast(d, b1, rOut, List.of(batchShape(a1)));
                gb = rb == 1 ? g.reshape(d, c.shapeOf(b)) : d;
            }
        }
        return new Value[] {ga, gb};
    }

    /** The batch dims of a matrix operand with its two matrix dims as 1 (they never broadcast). */
    private static Shape batchShape(Value m) {
        List<Dim> d = new ArrayList<>(m.shape().dims());
        d.set(d.size() - 1, Dim.of(1));
        d.set(d.size() - 2, Dim.of(1));
        return Shape.of(d);
    }

    private static Value[] gemm(GradContext c, Node n, Value[] gy, boolean[] w) {
        Graph g = c.g;
        Value a = n.input(0), b = n.input(1), dy = gy[0];
        double alpha = n.floatAttr("alpha", 1f), beta = n.floatAttr("beta", 1f);
        boolean ta = n.intAttr("transA", 0) != 0, tb = n.intAttr("transB", 0) != 0;
        Value ap = ta ? g.transpose(a, 1, 0) : a;
        Value bp = tb ? g.transpose(b, 1, 0) : b;
        Value dys = alpha == 1 ? dy : g.mul(dy, c.scalar(alpha, dy.type()));
        Value ga = null, gb = null, gc = null;
        if (w[0]) {
            Value d = g.matMul(dys, g.transpose(bp, 1, 0));
            ga = ta ? g.transpose(d, 1, 0) : d;
        }
        if (w[1]) {
            Value d = g.matMul(g.transpose(ap, 1, 0), dys);
            gb = tb ? g.transpose(d, 1, 0) : d;
        }
        if (n.input(2) != null && w.length > 2 && w[2]) {
            Value d = beta == 1 ? dy : g.mul(dy, c.scalar(beta, dy.type()));
            gc = c.unbroadcast(d, n.input(2), 2, List.of(n.output(0).shape()));
        }
        return new Value[] {ga, gb, gc};
    }

    // ---------------------------------------------------------------- reductions

    private static Value reduceBack(GradContext c, Node n, Value gy, boolean mean) {
        Graph g = c.g;
        Value x = n.input(0), y = n.output(0);
        int r = x.rank();
        boolean keep = n.intAttr("keepdims", 1) != 0;
        long[] axes;
        if (n.input(1) == null) {
            axes = new long[r];
            for (int i = 0; i < r; i++) axes[i] = i;
        } else {
            axes = c.constLongs(n.input(1));
            if (axes == null) throw unsupported(n, "axes must be constant");
            if (axes.length == 0) {
                if (n.intAttr("noop_with_empty_axes", 0) != 0) return gy;
                axes = new long[r];
                for (int i = 0; i < r; i++) axes[i] = i;
            }
        }
        long[] norm = new long[axes.length];
        for (int i = 0; i < axes.length; i++) norm[i] = GradContext.axis(axes[i], r);
        java.util.Arrays.sort(norm);
        Value gk = gy;
        if (!keep && norm.length > 0) gk = g.unsqueeze(gy, norm);
        Value back = g.expand(gk, c.shapeOf(x));
        if (mean) {
            long count = 1;
            boolean known = true;
            for (long ax : norm) {
                Dim d = x.dim((int) ax);
                if (d.isStatic()) count *= d.size();
                else known = false;
            }
            Value scale = known ? c.scalar(1.0 / count, x.type())
                    : g.div(g.cast(g.size(y), x.type()), g.cast(g.size(x), x.type()));
            back = g.mul(back, scale);
        }
        return back;
    }

    private static Value trilu(GradContext c, Value gy, Value k, boolean upper) {
        return c.g.apply(Op.TRILU, java.util.Arrays.asList(gy, k), Map.of("upper", upper ? 1L : 0L), 1)[0];
    }

    // ---------------------------------------------------------------- indexing

    private static Value[] gather(GradContext c, Node n, Value[] gy, boolean[] w) {
        Graph g = c.g;
        Value data = n.input(0), idx = n.input(1);
        int rd = data.rank(), ri = idx.rank();
        int a = GradContext.axis(n.intAttr("axis", 0), rd);
        if (idx.type() != DType.INT64) idx = g.cast(idx, DType.INT64);
        long[] known = c.constLongs(idx);
        boolean nonNegative = known != null;
        if (known != null) for (long v : known) if (v < 0) nonNegative = false;
        if (!nonNegative) {
            // negative indices count from the end
            Value neg = g.less(idx, g.scalarInt64(0));
            idx = g.where(neg, g.add(idx, g.reshape(c.dimOf(data, a), new long[0])), idx);
        }
        Value ind = g.unsqueeze(idx, -1);
        if (a == 0) {
            return new Value[] {g.scatterND(c.zerosLike(data), ind, gy[0], "add"), null};
        }
        // move the gathered axis to the front, scatter, move it back
        int ro = rd - 1 + ri;
        long[] permOut = new long[ro];
        int p = 0;
        for (int i = a; i < a + ri; i++) permOut[p++] = i;
        for (int i = 0; i < a; i++) permOut[p++] = i;
        for (int i = a + ri; i < ro; i++) permOut[p++] = i;
        long[] permData = new long[rd];
        p = 0;
        permData[p++] = a;
        for (int i = 0; i < rd; i++) if (i != a) permData[p++] = i;
        long[] inv = new long[rd];
        for (int i = 0; i < rd; i++) inv[(int) permData[i]] = i;
        Value zerosT = g.transpose(c.zerosLike(data), permData);
        Value s = g.scatterND(zerosT, ind, g.transpose(gy[0], permOut), "add");
        return new Value[] {g.transpose(s, inv), null};
    }

    // ---------------------------------------------------------------- concat, split, slice, pad

    private static Value[] concat(GradContext c, Node n, Value[] gy, boolean[] w) {
        Graph g = c.g;
        int r = n.output(0).rank();
        long ax = GradContext.axis(n.intAttr("axis", 0), r);
        Value[] out = new Value[n.inputs.size()];
        long staticOff = 0;
        Value dynOff = null;
        for (int i = 0; i < n.inputs.size(); i++) {
            Value x = n.input(i);
            Dim d = x.dim((int) ax);
            if (w[i]) {
                Value gi;
                if (dynOff == null && d.isStatic()) {
                    gi = g.slice(gy[0], ax, staticOff, staticOff + d.size());
                } else {
                    Value start = dynOff == null ? g.constInt64(staticOff) : dynOff;
                    Value end = g.add(start, c.dimOf(x, (int) ax));
                    gi = g.slice(gy[0], start, end, g.constInt64(ax), null);
                }
                out[i] = gi;
            }
            if (dynOff == null && d.isStatic()) {
                staticOff += d.size();
            } else {
                Value base = dynOff == null ? g.constInt64(staticOff) : dynOff;
                dynOff = g.add(base, c.dimOf(x, (int) ax));
            }
        }
        return out;
    }

    private static Value[] split(GradContext c, Node n, Value[] gy, boolean[] w) {
        int r = n.input(0).rank();
        long ax = GradContext.axis(n.intAttr("axis", 0), r);
        Value[] parts = new Value[gy.length];
        for (int i = 0; i < gy.length; i++) parts[i] = gy[i] != null ? gy[i] : c.zerosLike(n.output(i));
        Value gx = parts.length == 1 ? parts[0] : c.g.concat(ax, parts);
        return new Value[] {gx, null};
    }

    private static Value[] slice(GradContext c, Node n, Value[] gy, boolean[] w) {
        Graph g = c.g;
        Value x = n.input(0);
        int r = x.rank();
        long[] starts = c.constLongs(n.input(1)), ends = c.constLongs(n.input(2));
        long[] axes = n.input(3) == null ? null : c.constLongs(n.input(3));
        long[] steps = n.input(4) == null ? null : c.constLongs(n.input(4));
        if (n.input(3) != null && axes == null) throw unsupported(n, "axes must be constant");
        if (n.input(4) != null && steps == null) throw unsupported(n, "steps must be constant");
        int count = starts != null ? starts.length : ends != null ? ends.length
                : n.input(1).shape().dim(0).isStatic() ? (int) n.input(1).shape().dim(0).size() : -1;
        if (axes == null) {
            if (count < 0) throw unsupported(n, "number of sliced axes unknown");
            axes = new long[count];
            for (int i = 0; i < count; i++) axes[i] = i;
        }
        boolean unitSteps = true;
        if (steps != null) for (long s : steps) if (s != 1) unitSteps = false;
        if (!unitSteps) return new Value[] {sliceScatter(c, n, gy[0], starts, ends, axes, steps), null, null, null, null};
        // unit steps: pad the gradient back with zeros
        long[] staticPads = new long[2 * r];
        boolean allStatic = starts != null && ends != null;
        for (int i = 0; i < axes.length && allStatic; i++) {
            int ax = GradContext.axis(axes[i], r);
            Dim d = x.dim(ax);
            if (!d.isStatic()) {
                allStatic = false;
                break;
            }
            long len = d.size();
            long st = clamp(starts[i] < 0 ? starts[i] + len : starts[i], len);
            long en = clamp(ends[i] < 0 ? ends[i] + len : ends[i], len);
            en = Math.max(en, st);
            staticPads[ax] += st;
            staticPads[ax + r] += len - en;
        }
        Value pads;
        if (allStatic) {
            pads = g.constInt64(staticPads);
        } else {
            Value[] begin = new Value[r], end = new Value[r];
            for (int i = 0; i < axes.length; i++) {
                int ax = GradContext.axis(axes[i], r);
                Value dim = c.dimOf(x, ax);
                Value st = starts != null ? g.constInt64(starts[i]) : g.slice(n.input(1), 0, i, i + 1);
                Value en = ends != null ? g.constInt64(ends[i]) : g.slice(n.input(2), 0, i, i + 1);
                if (n.input(1).type() != DType.INT64) st = g.cast(st, DType.INT64);
                if (n.input(2).type() != DType.INT64) en = g.cast(en, DType.INT64);
                Value stc = clampDyn(g, st, dim);
                Value enc = g.max(clampDyn(g, en, dim), stc);
                begin[ax] = stc;
                end[ax] = g.sub(dim, enc);
            }
            List<Value> parts = new ArrayList<>();
            for (int i = 0; i < r; i++) parts.add(begin[i] != null ? begin[i] : g.constInt64(0));
            for (int i = 0; i < r; i++) parts.add(end[i] != null ? end[i] : g.constInt64(0));
            pads = g.concat(0, parts);
        }
        Value gx = g.pad(gy[0], pads, c.scalar(0, gy[0].type()));
        return new Value[] {c.reshapeLikeIfStatic(gx, x), null, null, null, null};
    }

    private static long clamp(long v, long len) {
        return Math.max(0, Math.min(len, v));
    }

    /** clamp(v < 0 ? v + dim : v, 0, dim) on 1-element int64 tensors. */
    private static Value clampDyn(Graph g, Value v, Value dim) {
        Value zero = g.constInt64(0);
        Value n = g.where(g.less(v, zero), g.add(v, dim), v);
        return g.min(g.max(n, zero), dim);
    }

    /** Any constant slice of a static-shape input: scatter into the flattened input. */
    private static Value sliceScatter(GradContext c, Node n, Value gy, long[] starts, long[] ends, long[] axes, long[] steps) {
        Value x = n.input(0);
        if (starts == null || ends == null || !x.shape().isStatic()) {
            throw unsupported(n, "slices with steps other than 1 need constant bounds and a static input shape");
        }
        long[] shape = x.shape().toArray();
        int r = shape.length;
        long[][] sel = new long[r][];
        for (int d = 0; d < r; d++) {
            sel[d] = new long[(int) shape[d]];
            for (int i = 0; i < shape[d]; i++) sel[d][i] = i;
        }
        for (int i = 0; i < axes.length; i++) {
            int ax = GradContext.axis(axes[i], r);
            long len = shape[ax], step = steps[i];
            long st = starts[i], en = ends[i];
            List<Long> picked = new ArrayList<>();
            if (step > 0) {
                st = clamp(st < 0 ? st + len : st, len);
                en = clamp(en < 0 ? en + len : en, len);
                for (long k = st; k < en; k += step) picked.add(k);
            } else {
                st = Math.max(-1, Math.min(len - 1, st < 0 ? st + len : st));
                en = Math.max(-1, Math.min(len - 1, en < 0 ? en + len : en));
                for (long k = st; k > en; k += step) picked.add(k);
            }
            sel[ax] = picked.stream().mapToLong(Long::longValue).toArray();
        }
        long total = 1;
        for (long[] s : sel) total *= s.length;
        long[] flat = new long[(int) total];
        long[] strides = new long[r];
        long acc = 1;
        for (int d = r - 1; d >= 0; d--) {
            strides[d] = acc;
            acc *= shape[d];
        }
        int[] pos = new int[r];
        for (int k = 0; k < total; k++) {
            long off = 0;
            for (int d = 0; d < r; d++) off += sel[d][pos[d]] * strides[d];
            flat[k] = off;
            for (int d = r - 1; d >= 0; d--) {
                if (++pos[d] < sel[d].length) break;
                pos[d] = 0;
            }
        }
        Graph g = c.g;
        Value zeros = g.constantOfShape(g.constInt64(acc), GradContext.zeroOf(x.type()));
        Value idx = g.constant(TensorData.ofLongs(flat, total));
        Value s = g.scatterElements(zeros, idx, g.reshape(gy, total), 0, "none");
        return g.reshape(s, shape);
    }

    private static Value[] pad(GradContext c, Node n, Value[] gy, boolean[] w) {
        Graph g = c.g;
        if (!"constant".equals(n.attributes.getOrDefault("mode", "constant"))) throw unsupported(n, "only constant padding");
        if (n.input(3) != null) throw unsupported(n, "pads with an axes input");
        Value x = n.input(0), y = n.output(0);
        int r = x.rank();
        long[] pads = c.constLongs(n.input(1));
        Value gx;
        if (pads != null) {
            long[] st = new long[r], en = new long[r], ax = new long[r];
            for (int i = 0; i < r; i++) {
                if (pads[i] < 0 || pads[i + r] < 0) throw unsupported(n, "negative pads");
                st[i] = pads[i];
                en[i] = pads[i + r] == 0 ? Long.MAX_VALUE : -pads[i + r];
                ax[i] = i;
            }
            gx = g.slice(gy[0], g.constInt64(st), g.constInt64(en), g.constInt64(ax), null);
        } else {
            Value p = n.input(1);
            Value st = g.slice(p, 0, 0, r), en = g.sub(g.shape(y), g.slice(p, 0, r, 2L * r));
            long[] ax = new long[r];
            for (int i = 0; i < r; i++) ax[i] = i;
            gx = g.slice(gy[0], st, en, g.constInt64(ax), null);
        }
        return new Value[] {c.reshapeLikeIfStatic(gx, x), null, null, null};
    }
}
