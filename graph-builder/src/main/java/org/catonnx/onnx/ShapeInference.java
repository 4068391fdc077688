package org.catonnx.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Type and shape rules, applied when a node is added so mistakes surface at build time
 * with the node's name. Dimensions that cannot be derived become unknown, never wrong.
 */
final class ShapeInference {
    private ShapeInference() {}

    /** Element type and shape of one output. */
    static final class Out {
        final DType type;
        final Shape shape;

        Out(DType type, Shape shape) {
            this.type = type;
            this.shape = shape;
        }
    }

    static List<Out> infer(Node n) {
        Op op = n.op;
        Value a = n.input(0);
        switch (op) {
            case ADD: case SUB: case MUL: case DIV: case MOD:
                sameType(n, 0, 1);
                return one(a.type(), broadcast(n, n.inputs));
            case MAX: case MIN:
                for (int i = 1; i < n.inputs.size(); i++) sameType(n, 0, i);
                return one(a.type(), broadcast(n, n.inputs));
            case POW:
                return one(a.type(), broadcast(n, n.inputs));
            case EQUAL: case LESS: case LESS_OR_EQUAL: case GREATER: case GREATER_OR_EQUAL:
                sameType(n, 0, 1);
                return one(DType.BOOL, broadcast(n, n.inputs));
            case AND: case OR:
                requireType(n, 0, DType.BOOL);
                requireType(n, 1, DType.BOOL);
                return one(DType.BOOL, broadcast(n, n.inputs));
            case NOT:
                requireType(n, 0, DType.BOOL);
                return one(DType.BOOL, a.shape());
            case WHERE:
                requireType(n, 0, DType.BOOL);
                sameType(n, 1, 2);
                return one(n.input(1).type(), broadcast(n, n.inputs));
            case SQRT: case RECIPROCAL: case EXP: case LOG: case SIGMOID: case TANH: case COS: case SIN:
            case FLOOR: case CEIL:
                requireFloating(n, 0);
                return one(a.type(), a.shape());
            case NEG: case ABS: case IDENTITY: case CLIP: case TRILU:
                return one(a.type(), a.shape());
            case SIMPLIFIED_LAYER_NORM:
                requireFloating(n, 0);
                return one(a.type(), a.shape());
            case SKIP_SIMPLIFIED_LAYER_NORM: {
                requireFloating(n, 0);
                sameType(n, 0, 1);
                sameType(n, 0, 2);
                Out stat = new Out(DType.FLOAT, Shape.unknownRank());
                return List.of(new Out(a.type(), a.shape()), stat, stat, new Out(a.type(), a.shape()));
            }
            case SOFTMAX: case LOG_SOFTMAX:
                requireFloating(n, 0);
                if (a.shape().hasRank()) axis(n, n.intAttr("axis", -1), a.rank());
                return one(a.type(), a.shape());
            case CUM_SUM:
                return one(a.type(), a.shape());
            case CAST:
                return one(DType.fromOnnx((int) n.intAttr("to", -1)), a.shape());
            case MATMUL:
                sameType(n, 0, 1);
                return one(a.type(), matMul(n, a.shape(), n.input(1).shape()));
            case GEMM:
                return one(a.type(), gemm(n));
            case REDUCE_MEAN: case REDUCE_SUM: case REDUCE_MAX: case REDUCE_SUM_SQUARE:
                return one(a.type(), reduce(n, a.shape(), constLongs(n.input(1)), n.intAttr("keepdims", 1) != 0));
            case ARG_MAX: {
                long[] ax = {n.intAttr("axis", 0)};
                return one(DType.INT64, reduce(n, a.shape(), ax, n.intAttr("keepdims", 1) != 0));
            }
            case TOP_K: {
                long[] k = constLongs(n.input(1));
                Shape s = a.shape();
                if (s.hasRank()) {
                    int ax = axis(n, n.intAttr("axis", -1), s.rank());
                    s = s.with(ax, k == null ? Dim.unknown() : Dim.of(k[0]));
                }
                return List.of(new Out(a.type(), s), new Out(DType.INT64, s));
            }
            case GATHER:
                requireIndex(n, 1);
                return one(a.type(), gather(n, a.shape(), n.input(1).shape(), n.intAttr("axis", 0)));
            case GATHER_ELEMENTS:
                requireIndex(n, 1);
                rankMatch(n, a, n.input(1));
                return one(a.type(), n.input(1).shape());
            case SCATTER_ELEMENTS:
                requireIndex(n, 1);
                sameType(n, 0, 2);
                return one(a.type(), a.shape());
            case SCATTER_ND:
                requireIndex(n, 1);
                sameType(n, 0, 2);
                return one(a.type(), a.shape());
            case RESHAPE:
                requireType(n, 1, DType.INT64);
                return one(a.type(), reshape(n, a.shape(), n.input(1)));
            case TRANSPOSE:
                return one(a.type(), transpose(n, a.shape(), n.intsAttr("perm")));
            case CONCAT:
                for (int i = 1; i < n.inputs.size(); i++) sameType(n, 0, i);
                return one(a.type(), concat(n));
            case SPLIT:
                return split(n);
            case SLICE:
                return one(a.type(), slice(n));
            case UNSQUEEZE:
                return one(a.type(), unsqueeze(n, a.shape(), constLongs(n.input(1))));
            case SQUEEZE:
                return one(a.type(), squeeze(n, a.shape(), n.input(1) == null ? null : constLongs(n.input(1))));
            case EXPAND: {
                requireType(n, 1, DType.INT64);
                long[] target = constLongs(n.input(1));
                if (target == null || !a.shape().hasRank()) {
                    Shape ts = n.input(1).shape();
                    return one(a.type(), ts.hasRank() && ts.dim(0).isStatic() ? Shape.unknown((int) Math.max(ts.dim(0).size(), a.shape().hasRank() ? a.rank() : 0)) : Shape.unknownRank());
                }
                Shape t = Shape.ofStatic(target);
                return one(a.type(), broadcastShapes(n, a.shape(), t));
            }
            case PAD:
                return one(a.type(), a.shape().hasRank() ? Shape.unknown(a.rank()) : Shape.unknownRank());
            case SHAPE: {
                if (!a.shape().hasRank()) return one(DType.INT64, Shape.unknown(1));
                long r = a.rank();
                long start = n.intAttr("start", 0), end = n.intAttr("end", r);
                start = clampAxis(start, r);
                end = clampAxis(end, r);
                return one(DType.INT64, Shape.ofStatic(Math.max(0, end - start)));
            }
            case SIZE:
                return one(DType.INT64, Shape.scalar());
            case RANGE:
                sameType(n, 0, 1);
                sameType(n, 0, 2);
                return one(a.type(), Shape.unknown(1));
            case CONSTANT_OF_SHAPE: {
                TensorData v = (TensorData) n.attributes.get("value");
                DType t = v == null ? DType.FLOAT : v.type();
                long[] s = constLongs(a);
                if (s != null) return one(t, Shape.ofStatic(s));
                return one(t, a.shape().hasRank() && a.dim(0).isStatic() ? Shape.unknown((int) a.dim(0).size()) : Shape.unknownRank());
            }
            case RANDOM_UNIFORM_LIKE: {
                long dt = n.intAttr("dtype", a.type().onnx);
                return one(DType.fromOnnx((int) dt), a.shape());
            }
            case CAT_ATTENTION:
                sameType(n, 0, 1);
                sameType(n, 0, 2);
                return one(a.type(), a.shape());
            case GROUP_QUERY_ATTENTION: {
                for (int i = 1; i < 5; i++) sameType(n, 0, i);
                requireType(n, 5, DType.INT32);
                requireType(n, 6, DType.INT32);
                // present = past when the buffer is at least total_sequence_length long (fixed-size caches)
                Out present = new Out(a.type(), n.input(3).shape());
                return List.of(new Out(a.type(), a.shape()), present, present);
            }
            case CAT_DECODE_ATTENTION:
                return List.of(new Out(a.type(), catDecodeOutput(n)), new Out(a.type(), n.input(3).shape()),
                        new Out(a.type(), n.input(4).shape()));
            case SWI_GLU: {
                requireFloating(n, 0);
                Shape s = a.shape();
                if (!s.hasRank()) return one(a.type(), s);
                if (s.rank() == 0) throw new GraphBuildException(n.name + " (SwiGlu): input must have rank >= 1 (gate | up on the last axis)");
                Dim last = s.dim(s.rank() - 1);
                if (last.isStatic() && last.size() % 2 != 0) {
                    throw new GraphBuildException(n.name + " (SwiGlu): last dim must be even (gate | up), got " + s);
                }
                return one(a.type(), s.with(s.rank() - 1, last.isStatic() ? Dim.of(last.size() / 2) : Dim.unknown()));
            }
            case ROTARY_EMBEDDING:
                requireType(n, 1, DType.INT64);
                sameType(n, 0, 2);
                sameType(n, 0, 3);
                return one(a.type(), a.shape());
            default:
                throw new GraphBuildException(n.name + ": no shape rule for " + op.onnxType);
        }
    }

    /**
     * CatDecodeAttention's checks and y's shape [B,1,H*hd]: q's shape, its last dim H*hd when q is packed
     * (k, v omitted: [B,1,(H+2*Hkv)*hd]).
     */
    private static Shape catDecodeOutput(Node n) {
        Value q = n.input(0), k = n.input(1), v = n.input(2), past = n.input(3);
        String at = n.name + " (CatDecodeAttention): ";
        if ((k == null) != (v == null)) throw new GraphBuildException(at + "k and v must both be given, or both omitted for a packed q|k|v");
        for (int i : new int[] {1, 2, 3, 4, 7, 8}) if (n.input(i) != null) sameType(n, 0, i);
        requireType(n, 5, DType.INT32);
        boolean rotary = n.input(7) != null || n.input(8) != null;
        if (rotary && (n.input(7) == null || n.input(8) == null)) throw new GraphBuildException(at + "cos_cache and sin_cache must be given together");
        if (rotary != (n.input(6) != null)) throw new GraphBuildException(at + "position (int64) is required with cos_cache/sin_cache, and only with them");
        if (rotary) requireType(n, 6, DType.INT64);
        long heads = n.intAttr("num_heads", 0), kvHeads = n.intAttr("kv_num_heads", 0);
        Dim hd = past.shape().hasRank() && past.rank() == 4 ? past.shape().dim(3) : Dim.unknown();
        if (rotary && hd.isStatic()) {
            Shape cos = n.input(7).shape();
            if (cos.hasRank() && cos.rank() == 2 && cos.dim(1).isStatic() && 2 * cos.dim(1).size() > hd.size()) {
                throw new GraphBuildException(at + "rotary_dim 2*" + cos.dim(1) + " (cos_cache " + cos + ") exceeds head_dim " + hd);
            }
        }
        Shape y = q.shape();
        if (k != null || !y.hasRank() || y.rank() != 3) return y;
        if (!hd.isStatic()) return y.with(2, Dim.unknown());
        long width = (heads + 2 * kvHeads) * hd.size();
        if (y.dim(2).isStatic() && y.dim(2).size() != width) {
            throw new GraphBuildException(at + "packed q|k|v must be [B,1,(num_heads+2*kv_num_heads)*head_dim] = [B,1," + width + "], got " + y);
        }
        return y.with(2, Dim.of(heads * hd.size()));
    }

    private static List<Out> one(DType t, Shape s) {
        return List.of(new Out(t, s));
    }

    // ---- checks ----

    private static void sameType(Node n, int i, int j) {
        DType a = n.input(i).type(), b = n.input(j).type();
        if (a != b) {
            throw new GraphBuildException(n.name + " (" + n.op.onnxType + "): input " + i + " is " + a + " but input " + j
                    + " is " + b + " (" + n.input(i).name() + ", " + n.input(j).name() + ")");
        }
    }

    private static void requireType(Node n, int i, DType t) {
        if (n.input(i).type() != t) {
            throw new GraphBuildException(n.name + " (" + n.op.onnxType + "): input " + i + " must be " + t + ", got "
                    + n.input(i));
        }
    }

    private static void requireFloating(Node n, int i) {
        if (!n.input(i).type().isFloating()) {
            throw new GraphBuildException(n.name + " (" + n.op.onnxType + "): input " + i + " must be floating point, got "
                    + n.input(i));
        }
    }

    private static void requireIndex(Node n, int i) {
        DType t = n.input(i).type();
        if (t != DType.INT64 && t != DType.INT32) {
            throw new GraphBuildException(n.name + " (" + n.op.onnxType + "): indices must be int64 or int32, got " + n.input(i));
        }
    }

    private static void rankMatch(Node n, Value a, Value b) {
        if (a.shape().hasRank() && b.shape().hasRank() && a.rank() != b.rank()) {
            throw new GraphBuildException(n.name + " (" + n.op.onnxType + "): rank mismatch " + a.shape() + " vs " + b.shape());
        }
    }

    private static int axis(Node n, long axis, int rank) {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw new GraphBuildException(n.name + " (" + n.op.onnxType + "): axis " + axis + " out of range for rank " + rank);
        }
        return (int) a;
    }

    private static long clampAxis(long v, long r) {
        if (v < 0) v += r;
        return Math.max(0, Math.min(r, v));
    }

    static long[] constLongs(Value v) {
        if (v == null || v.constant() == null) return null;
        DType t = v.constant().type();
        if (t != DType.INT64 && t != DType.INT32) return null;
        return v.constant().toLongs();
    }

    // ---- rules ----

    static Shape broadcast(Node n, List<Value> vals) {
        Shape s = null;
        for (Value v : vals) {
            if (v == null) continue;
            s = s == null ? v.shape() : broadcastShapes(n, s, v.shape());
        }
        return s;
    }

    static Shape broadcastShapes(Node n, Shape a, Shape b) {
        if (!a.hasRank() || !b.hasRank()) return Shape.unknownRank();
        int r = Math.max(a.rank(), b.rank());
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < r; i++) {
            int ia = a.rank() - r + i, ib = b.rank() - r + i;
            Dim da = ia >= 0 ? a.dims().get(ia) : Dim.of(1);
            Dim db = ib >= 0 ? b.dims().get(ib) : Dim.of(1);
            out.add(broadcastDim(n, da, db, a, b));
        }
        return Shape.of(out);
    }

    private static Dim broadcastDim(Node n, Dim a, Dim b, Shape sa, Shape sb) {
        if (a.isStatic() && a.size() == 1) return b;
        if (b.isStatic() && b.size() == 1) return a;
        if (a.isStatic() && b.isStatic()) {
            if (a.size() != b.size()) {
                throw new GraphBuildException(n.name + " (" + n.op.onnxType + "): shapes " + sa + " and " + sb
                        + " do not broadcast");
            }
            return a;
        }
        if (a.sameAs(b)) return a;
        if (a.isStatic()) return a;
        if (b.isStatic()) return b;
        return Dim.unknown();
    }

    private static Shape matMul(Node n, Shape a, Shape b) {
        if (!a.hasRank() || !b.hasRank()) return Shape.unknownRank();
        if (a.rank() < 1 || b.rank() < 1) throw new GraphBuildException(n.name + " (MatMul): scalar operand");
        Dim ka = a.dim(-1);
        Dim kb = b.rank() == 1 ? b.dim(0) : b.dim(-2);
        if (!ka.compatible(kb)) {
            throw new GraphBuildException(n.name + " (MatMul): inner dimensions differ: " + a + " x " + b);
        }
        List<Dim> out = new ArrayList<>();
        Shape ba = a.rank() > 2 ? Shape.of(a.dims().subList(0, a.rank() - 2)) : Shape.scalar();
        Shape bb = b.rank() > 2 ? Shape.of(b.dims().subList(0, b.rank() - 2)) : Shape.scalar();
        out.addAll(broadcastShapes(n, ba, bb).dims());
        if (a.rank() >= 2) out.add(a.dim(-2));
        if (b.rank() >= 2) out.add(b.dim(-1));
        return Shape.of(out);
    }

    private static Shape gemm(Node n) {
        Shape a = n.input(0).shape(), b = n.input(1).shape();
        if (!a.hasRank() || !b.hasRank()) return Shape.unknown(2);
        if (a.rank() != 2 || b.rank() != 2) throw new GraphBuildException(n.name + " (Gemm): operands must be 2-D, got " + a + ", " + b);
        boolean ta = n.intAttr("transA", 0) != 0, tb = n.intAttr("transB", 0) != 0;
        Dim m = ta ? a.dim(1) : a.dim(0), ka = ta ? a.dim(0) : a.dim(1);
        Dim kb = tb ? b.dim(1) : b.dim(0), nn = tb ? b.dim(0) : b.dim(1);
        if (!ka.compatible(kb)) throw new GraphBuildException(n.name + " (Gemm): inner dimensions differ: " + a + " x " + b);
        Shape out = Shape.of(m, nn);
        if (n.input(2) != null) broadcastShapes(n, out, n.input(2).shape());
        return out;
    }

    private static Shape reduce(Node n, Shape s, long[] axes, boolean keep) {
        if (!s.hasRank()) return Shape.unknownRank();
        int r = s.rank();
        boolean[] red = new boolean[r];
        if (axes == null) {
            if (n.input(1) != null) return keep ? Shape.unknown(r) : Shape.unknownRank();
            Arrays.fill(red, true);
        } else {
            for (long ax : axes) red[axis(n, ax, r)] = true;
        }
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < r; i++) {
            if (!red[i]) out.add(s.dims().get(i));
            else if (keep) out.add(Dim.of(1));
        }
        return Shape.of(out);
    }

    private static Shape gather(Node n, Shape data, Shape idx, long axis) {
        if (!data.hasRank() || !idx.hasRank()) return Shape.unknownRank();
        int ax = axis(n, axis, data.rank());
        List<Dim> out = new ArrayList<>(data.dims().subList(0, ax));
        out.addAll(idx.dims());
        out.addAll(data.dims().subList(ax + 1, data.rank()));
        return Shape.of(out);
    }

    private static Shape reshape(Node n, Shape in, Value target) {
        long[] t = constLongs(target);
        if (t == null) {
            Shape ts = target.shape();
            return ts.hasRank() && ts.rank() == 1 && ts.dim(0).isStatic() ? Shape.unknown((int) ts.dim(0).size()) : Shape.unknownRank();
        }
        List<Dim> out = new ArrayList<>();
        int inferAt = -1;
        for (int i = 0; i < t.length; i++) {
            if (t[i] == 0) {
                if (!in.hasRank() || i >= in.rank()) {
                    throw new GraphBuildException(n.name + " (Reshape): 0 at position " + i + " copies a dimension the input " + in + " lacks");
                }
                out.add(in.dim(i));
            } else if (t[i] == -1) {
                if (inferAt >= 0) throw new GraphBuildException(n.name + " (Reshape): more than one -1 in " + Shape.str(t));
                inferAt = i;
                out.add(Dim.unknown());
            } else if (t[i] < -1) {
                throw new GraphBuildException(n.name + " (Reshape): invalid target " + Shape.str(t));
            } else {
                out.add(Dim.of(t[i]));
            }
        }
        if (in.isStatic()) {
            long total = in.numElements();
            long known = 1;
            for (int i = 0; i < out.size(); i++) if (i != inferAt) known *= out.get(i).size();
            if (inferAt >= 0) {
                if (known == 0 || total % known != 0) {
                    throw new GraphBuildException(n.name + " (Reshape): cannot reshape " + in + " to " + Shape.str(t));
                }
                out.set(inferAt, Dim.of(total / known));
            } else if (known != total) {
                throw new GraphBuildException(n.name + " (Reshape): cannot reshape " + in + " (" + total + " elements) to " + Shape.str(t));
            }
        } else if (inferAt >= 0 && in.hasRank()) {
            // -1 is derivable when the other target dims are copies (0) of the same input dims
            // and the remaining input dims are static: e.g. [B,T,H,D] -> [0,0,-1].
            long restIn = 1;
            boolean ok = true;
            List<Integer> copied = new ArrayList<>();
            for (int i = 0; i < t.length; i++) if (t[i] == 0) copied.add(i);
            for (int i = 0; i < in.rank() && ok; i++) {
                if (copied.contains(i)) continue;
                if (!in.dim(i).isStatic()) ok = false;
                else restIn *= in.dim(i).size();
            }
            long restOut = 1;
            for (int i = 0; i < t.length; i++) if (t[i] > 0) restOut *= t[i];
            if (ok && restOut > 0 && restIn % restOut == 0) out.set(inferAt, Dim.of(restIn / restOut));
        }
        return Shape.of(out);
    }

    private static Shape transpose(Node n, Shape s, long[] perm) {
        if (!s.hasRank()) return Shape.unknownRank();
        int r = s.rank();
        if (perm == null) {
            perm = new long[r];
            for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
        }
        if (perm.length != r) {
            throw new GraphBuildException(n.name + " (Transpose): perm " + Shape.str(perm) + " does not fit rank " + r + " input " + s);
        }
        boolean[] seen = new boolean[r];
        List<Dim> out = new ArrayList<>();
        for (long p : perm) {
            if (p < 0 || p >= r || seen[(int) p]) {
                throw new GraphBuildException(n.name + " (Transpose): invalid perm " + Shape.str(perm));
            }
            seen[(int) p] = true;
            out.add(s.dims().get((int) p));
        }
        return Shape.of(out);
    }

    private static Shape concat(Node n) {
        Shape first = n.input(0).shape();
        if (!first.hasRank()) return Shape.unknownRank();
        int r = first.rank();
        int ax = axis(n, n.intAttr("axis", 0), r);
        List<Dim> out = new ArrayList<>(first.dims());
        long total = 0;
        boolean known = true;
        for (Value v : n.inputs) {
            Shape s = v.shape();
            if (!s.hasRank()) return Shape.unknown(r);
            if (s.rank() != r) {
                throw new GraphBuildException(n.name + " (Concat): inputs have different ranks: " + first + " vs " + s);
            }
            for (int i = 0; i < r; i++) {
                if (i == ax) continue;
                if (!out.get(i).compatible(s.dim(i))) {
                    throw new GraphBuildException(n.name + " (Concat): dimension " + i + " differs: " + first + " vs " + s);
                }
                if (!out.get(i).isStatic() && s.dim(i).isStatic()) out.set(i, s.dim(i));
            }
            if (s.dim(ax).isStatic()) total += s.dim(ax).size();
            else known = false;
        }
        out.set(ax, known ? Dim.of(total) : Dim.unknown());
        return Shape.of(out);
    }

    private static List<Out> split(Node n) {
        Value a = n.input(0);
        int count = n.outputs.size();
        Shape s = a.shape();
        List<Out> outs = new ArrayList<>();
        long[] sizes = n.input(1) == null ? null : constLongs(n.input(1));
        if (sizes != null && sizes.length != count) {
            throw new GraphBuildException(n.name + " (Split): " + sizes.length + " sizes for " + count + " outputs");
        }
        for (int i = 0; i < count; i++) {
            if (!s.hasRank()) {
                outs.add(new Out(a.type(), Shape.unknownRank()));
                continue;
            }
            int ax = axis(n, n.intAttr("axis", 0), s.rank());
            Dim d;
            if (sizes != null) d = Dim.of(sizes[i]);
            else if (s.dim(ax).isStatic() && s.dim(ax).size() % count == 0) d = Dim.of(s.dim(ax).size() / count);
            else d = Dim.unknown();
            outs.add(new Out(a.type(), s.with(ax, d)));
        }
        if (sizes != null && s.hasRank()) {
            int ax = axis(n, n.intAttr("axis", 0), s.rank());
            long sum = 0;
            for (long z : sizes) sum += z;
            if (s.dim(ax).isStatic() && s.dim(ax).size() != sum) {
                throw new GraphBuildException(n.name + " (Split): sizes " + Shape.str(sizes) + " do not add up to " + s.dim(ax) + " of " + s);
            }
        }
        return outs;
    }

    private static Shape slice(Node n) {
        Shape s = n.input(0).shape();
        if (!s.hasRank()) return Shape.unknownRank();
        int r = s.rank();
        long[] starts = constLongs(n.input(1)), ends = constLongs(n.input(2));
        long[] axes = n.input(3) == null ? null : constLongs(n.input(3));
        long[] steps = n.input(4) == null ? null : constLongs(n.input(4));
        if (starts == null || ends == null || (n.input(3) != null && axes == null) || (n.input(4) != null && steps == null)) {
            // positions unknown at build time: sliced axes become unknown
            if (axes == null) return Shape.unknown(r);
            List<Dim> out = new ArrayList<>(s.dims());
            for (long ax : axes) out.set(axis(n, ax, r), Dim.unknown());
            return Shape.of(out);
        }
        if (axes == null) {
            axes = new long[starts.length];
            for (int i = 0; i < axes.length; i++) axes[i] = i;
        }
        List<Dim> out = new ArrayList<>(s.dims());
        for (int i = 0; i < axes.length; i++) {
            int ax = axis(n, axes[i], r);
            long step = steps == null ? 1 : steps[i];
            if (step == 0) throw new GraphBuildException(n.name + " (Slice): step 0");
            Dim d = s.dim(ax);
            long st = starts[i], en = ends[i];
            if (d.isStatic()) {
                long len = d.size();
                out.set(ax, Dim.of(sliceLen(st, en, step, len)));
            } else if (step == 1 && st >= 0 && en >= st && en < (1L << 40)) {
                out.set(ax, Dim.unknown());
            } else {
                out.set(ax, Dim.unknown());
            }
        }
        return Shape.of(out);
    }

    private static long sliceLen(long st, long en, long step, long len) {
        if (st < 0) st += len;
        if (en < 0) en += len;
        if (step > 0) {
            st = Math.max(0, Math.min(len, st));
            en = Math.max(0, Math.min(len, en));
            return en > st ? (en - st + step - 1) / step : 0;
        }
        if (len == 0) return 0;
        st = Math.max(0, Math.min(len - 1, st));
        en = Math.max(-1, Math.min(len - 1, en));
        return st > en ? (st - en + (-step) - 1) / (-step) : 0;
    }

    private static Shape unsqueeze(Node n, Shape s, long[] axes) {
        if (!s.hasRank() || axes == null) return Shape.unknownRank();
        int r = s.rank() + axes.length;
        boolean[] ins = new boolean[r];
        for (long ax : axes) {
            int a = axis(n, ax, r);
            if (ins[a]) throw new GraphBuildException(n.name + " (Unsqueeze): repeated axis " + ax);
            ins[a] = true;
        }
        List<Dim> out = new ArrayList<>();
        int j = 0;
        for (int i = 0; i < r; i++) out.add(ins[i] ? Dim.of(1) : s.dims().get(j++));
        return Shape.of(out);
    }

    private static Shape squeeze(Node n, Shape s, long[] axes) {
        if (!s.hasRank()) return Shape.unknownRank();
        int r = s.rank();
        List<Dim> out = new ArrayList<>();
        boolean[] drop = new boolean[r];
        if (axes == null) {
            if (n.input(1) != null) return Shape.unknownRank();
            for (int i = 0; i < r; i++) {
                if (!s.dim(i).isStatic()) return Shape.unknownRank();
                drop[i] = s.dim(i).size() == 1;
            }
        } else {
            for (long ax : axes) {
                int a = axis(n, ax, r);
                if (s.dim(a).isStatic() && s.dim(a).size() != 1) {
                    throw new GraphBuildException(n.name + " (Squeeze): axis " + ax + " of " + s + " is not 1");
                }
                drop[a] = true;
            }
        }
        for (int i = 0; i < r; i++) if (!drop[i]) out.add(s.dims().get(i));
        return Shape.of(out);
    }
}
