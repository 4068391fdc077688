package org.catonnx.onnx;

import ai.onnx.proto.OnnxMl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BinaryOperator;
import java.util.function.Consumer;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every operator helper of {@link Graph}: a graph with random inputs runs in ONNX Runtime (CPU)
 * and its output is compared with a plain-Java reference computation. The inferred output
 * types and shapes ({@link Value#shape()}) are checked against what ORT returns for every run
 * (rank, and each dimension inference claims to know), plus explicit checks where they are static.
 */
class OperatorTest {
    /** float32 results: relative tolerance (absolute below magnitude 1). */
    private static final double TOL = 1e-5;

    private final Random rnd = new Random(20240607L);

    // ================================================================ reference tensors

    /** A row-major float tensor for reference computations. */
    static final class T {
        final int[] shape;
        final float[] v;

        T(int[] shape, float[] v) {
            if (v.length != numel(shape)) throw new IllegalArgumentException(Arrays.toString(shape) + " vs " + v.length);
            this.shape = shape.clone();
            this.v = v;
        }

        static T zeros(int... shape) { return new T(shape, new float[numel(shape)]); }

        static T uniform(Random r, float lo, float hi, int... shape) {
            T t = zeros(shape);
            for (int i = 0; i < t.v.length; i++) t.v[i] = lo + (hi - lo) * r.nextFloat();
            return t;
        }

        static T rand(Random r, int... shape) { return uniform(r, -1, 1, shape); }

        static T of(TensorData d) { return new T(ints(d.shape()), d.toFloats()); }

        float get(int... idx) { return v[offset(shape, idx)]; }
        void set(double x, int... idx) { v[offset(shape, idx)] = (float) x; }
        TensorData data() { return TensorData.ofFloats(v, longs(shape)); }

        T map(DoubleUnaryOperator f) {
            T o = zeros(shape);
            for (int i = 0; i < v.length; i++) o.v[i] = (float) f.applyAsDouble(v[i]);
            return o;
        }

        /** Elementwise with numpy broadcasting. */
        static T zip(T a, T b, DoubleBinaryOperator f) {
            T o = zeros(bshape(a.shape, b.shape));
            forEach(o.shape, i -> o.set(f.applyAsDouble(a.get(bidx(i, a.shape)), b.get(bidx(i, b.shape))), i));
            return o;
        }
    }

    static int numel(int[] s) {
        int n = 1;
        for (int d : s) n *= d;
        return n;
    }

    static int offset(int[] shape, int[] idx) {
        int o = 0;
        for (int k = 0; k < shape.length; k++) o = o * shape[k] + idx[k];
        return o;
    }

    static int[] unravel(int flat, int[] shape) {
        int[] idx = new int[shape.length];
        for (int k = shape.length - 1; k >= 0; k--) {
            idx[k] = flat % shape[k];
            flat /= shape[k];
        }
        return idx;
    }

    static void forEach(int[] shape, Consumer<int[]> f) {
        int n = numel(shape);
        for (int i = 0; i < n; i++) f.accept(unravel(i, shape));
    }

    /** Broadcast shape of several shapes (numpy rules). */
    static int[] bshape(int[]... shapes) {
        int r = 0;
        for (int[] s : shapes) r = Math.max(r, s.length);
        int[] o = new int[r];
        Arrays.fill(o, 1);
        for (int[] s : shapes) {
            for (int k = 0; k < s.length; k++) {
                int j = r - s.length + k;
                if (s[k] != 1) {
                    if (o[j] != 1 && o[j] != s[k]) throw new IllegalArgumentException("no broadcast");
                    o[j] = s[k];
                }
            }
        }
        return o;
    }

    /** Index into a broadcast operand of shape inShape for output index out. */
    static int[] bidx(int[] out, int[] inShape) {
        int[] r = new int[inShape.length];
        int off = out.length - inShape.length;
        for (int k = 0; k < r.length; k++) r[k] = inShape[k] == 1 ? 0 : out[k + off];
        return r;
    }

    static int[] s(String dims) {
        if (dims.isBlank()) return new int[0];
        return Arrays.stream(dims.split("x")).mapToInt(Integer::parseInt).toArray();
    }

    static long[] longs(int[] a) { return Arrays.stream(a).asLongStream().toArray(); }
    static int[] ints(long[] a) { return Arrays.stream(a).mapToInt(Math::toIntExact).toArray(); }

    static int[] cat(int[] a, int... b) {
        int[] o = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, o, a.length, b.length);
        return o;
    }

    static long[] randLongs(Random r, int n, int lo, int hiExclusive) {
        long[] a = new long[n];
        for (int i = 0; i < n; i++) a[i] = lo + r.nextInt(hiExclusive - lo);
        return a;
    }

    // ================================================================ running and comparing

    /** One graph under test: inputs are declared with the shape of the data fed to them. */
    static final class Case {
        final Graph g = Graph.create("op_test");
        final Map<String, TensorData> feeds = new LinkedHashMap<>();

        Value in(String name, T t) { return in(name, t.data()); }

        Value in(String name, TensorData d) {
            feeds.put(name, d);
            return g.input(name, d.type(), Shape.ofStatic(d.shape()));
        }

        /** Marks outs as outputs y0, y1, ..., runs and checks the inferred types and shapes. */
        List<TensorData> run(Value... outs) {
            for (int i = 0; i < outs.length; i++) g.output("y" + i, outs[i]);
            Map<String, TensorData> r = OrtRunner.run(g, feeds);
            List<TensorData> list = new ArrayList<>();
            for (Value o : g.outputs()) {
                TensorData d = r.get(o.name());
                checkInferred(o, d);
                list.add(d);
            }
            return list;
        }

        TensorData run1(Value out) { return run(out).get(0); }
    }

    /** What inference claims must hold at run time: the element type, the rank and every static dimension. */
    static void checkInferred(Value v, TensorData actual) {
        assertEquals(v.type(), actual.type(), "type of " + v);
        Shape s = v.shape();
        if (!s.hasRank()) return;
        assertEquals(s.rank(), actual.rank(), "rank of " + v + " vs actual " + Arrays.toString(actual.shape()));
        for (int i = 0; i < s.rank(); i++) {
            if (s.dim(i).isStatic()) {
                assertEquals(s.dim(i).size(), actual.dim(i), "dim " + i + " of " + v + " vs actual " + Arrays.toString(actual.shape()));
            }
        }
    }

    static void assertShape(Value v, Object... dims) {
        assertEquals(Shape.of(dims), v.shape(), "inferred shape of " + v);
    }

    static void assertShape(Value v, int[] dims) {
        assertEquals(Shape.ofStatic(longs(dims)), v.shape(), "inferred shape of " + v);
    }

    static void assertClose(T expected, TensorData actual) {
        assertEquals(DType.FLOAT, actual.type());
        assertArrayEquals(longs(expected.shape), actual.shape(), "shape");
        float[] a = actual.toFloats();
        for (int i = 0; i < a.length; i++) {
            double e = expected.v[i];
            if (Math.abs(a[i] - e) > TOL * Math.max(1.0, Math.abs(e))) {
                fail("element " + Arrays.toString(unravel(i, expected.shape)) + ": expected " + e + ", got " + a[i]);
            }
        }
    }

    static void assertLongs(long[] expected, int[] shape, DType type, TensorData actual) {
        assertEquals(type, actual.type());
        assertArrayEquals(longs(shape), actual.shape(), "shape");
        assertArrayEquals(expected, actual.toLongs());
    }

    // ================================================================ MatMul, Gemm

    static T matMulRef(T a, T b) {
        boolean aVec = a.shape.length == 1, bVec = b.shape.length == 1;
        T A = aVec ? new T(new int[] {1, a.shape[0]}, a.v) : a;
        T B = bVec ? new T(new int[] {b.shape[0], 1}, b.v) : b;
        int ra = A.shape.length, rb = B.shape.length;
        int m = A.shape[ra - 2], k = A.shape[ra - 1], n = B.shape[rb - 1];
        int[] batchA = Arrays.copyOf(A.shape, ra - 2), batchB = Arrays.copyOf(B.shape, rb - 2);
        T out = T.zeros(cat(bshape(batchA, batchB), m, n));
        forEach(out.shape, idx -> {
            int[] batch = Arrays.copyOf(idx, idx.length - 2);
            int i = idx[idx.length - 2], j = idx[idx.length - 1];
            double sum = 0;
            for (int p = 0; p < k; p++) {
                sum += (double) A.get(cat(bidx(batch, batchA), i, p)) * B.get(cat(bidx(batch, batchB), p, j));
            }
            out.set(sum, idx);
        });
        int[] shape = out.shape;
        if (aVec) shape = cat(Arrays.copyOf(shape, shape.length - 2), shape[shape.length - 1]);
        if (bVec) shape = Arrays.copyOf(shape, shape.length - 1);
        return new T(shape, out.v);
    }

    @ParameterizedTest(name = "{0} x {1} -> {2}")
    @CsvSource({
            "3x4, 4x5, 3x5",
            "2x1x3x4, 5x4x2, 2x5x3x2",
            "2x3x4, 4x6, 2x3x6",
            "4, 4x5, 5",
            "2x3x4, 4, 2x3",
            "4, 2x4x3, 2x3",
            "4, 4, ''",
    })
    void matMul(String as, String bs, String expected) {
        Case c = new Case();
        T a = T.rand(rnd, s(as)), b = T.rand(rnd, s(bs));
        Value y = c.g.matMul(c.in("a", a), c.in("b", b));
        assertShape(y, s(expected));
        assertClose(matMulRef(a, b), c.run1(y));
    }

    static T gemmRef(T a, T b, T c, float alpha, float beta, boolean ta, boolean tb) {
        int m = ta ? a.shape[1] : a.shape[0], k = ta ? a.shape[0] : a.shape[1], n = tb ? b.shape[0] : b.shape[1];
        T out = T.zeros(m, n);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) sum += (double) (ta ? a.get(p, i) : a.get(i, p)) * (tb ? b.get(j, p) : b.get(p, j));
                double bias = c == null ? 0 : c.get(bidx(new int[] {i, j}, c.shape));
                out.set(alpha * sum + beta * bias, i, j);
            }
        }
        return out;
    }

    @ParameterizedTest(name = "transA={0} transB={1} bias={2}")
    @CsvSource({
            "false, false, 5", "true, false, 3x5", "false, true, 1x5", "true, true, 3x1",
            "false, false, none", "true, true, ''",
    })
    void gemm(boolean ta, boolean tb, String bias) {
        Case c = new Case();
        int m = 3, k = 4, n = 5;
        T a = T.rand(rnd, ta ? new int[] {k, m} : new int[] {m, k});
        T b = T.rand(rnd, tb ? new int[] {n, k} : new int[] {k, n});
        T bc = bias.equals("none") ? null : T.rand(rnd, s(bias));
        Value y = c.g.gemm(c.in("a", a), c.in("b", b), bc == null ? null : c.in("c", bc), 0.5f, 2f, ta, tb);
        assertShape(y, m, n);
        assertClose(gemmRef(a, b, bc, 0.5f, 2f, ta, tb), c.run1(y));
    }

    // ================================================================ elementwise binary

    static Stream<Arguments> binaryOps() {
        List<Arguments> l = new ArrayList<>();
        String[][] shapes = {{"2x3x4", "4"}, {"2x1x4", "3x1"}, {"1", "2x3"}, {"", "2x3"}, {"2x3", "2x3"}};
        Object[][] ops = {
                {"Add", (BinaryOperator<Value>) (x, y) -> x.graph().add(x, y), (DoubleBinaryOperator) (x, y) -> x + y},
                {"Sub", (BinaryOperator<Value>) (x, y) -> x.graph().sub(x, y), (DoubleBinaryOperator) (x, y) -> x - y},
                {"Mul", (BinaryOperator<Value>) (x, y) -> x.graph().mul(x, y), (DoubleBinaryOperator) (x, y) -> x * y},
                {"Div", (BinaryOperator<Value>) (x, y) -> x.graph().div(x, y), (DoubleBinaryOperator) (x, y) -> x / y},
                {"Pow", (BinaryOperator<Value>) (x, y) -> x.graph().pow(x, y), (DoubleBinaryOperator) Math::pow},
                {"Max", (BinaryOperator<Value>) (x, y) -> x.graph().max(x, y), (DoubleBinaryOperator) Math::max},
                {"Min", (BinaryOperator<Value>) (x, y) -> x.graph().min(x, y), (DoubleBinaryOperator) Math::min},
        };
        for (Object[] op : ops) for (String[] sh : shapes) l.add(Arguments.of(op[0], sh[0], sh[1], op[1], op[2]));
        return l.stream();
    }

    @ParameterizedTest(name = "{0} {1} , {2}")
    @MethodSource("binaryOps")
    void binary(String name, String as, String bs, BinaryOperator<Value> op, DoubleBinaryOperator ref) {
        Case c = new Case();
        // Pow and Div: positive bases / divisors away from 0
        boolean positive = name.equals("Pow") || name.equals("Div");
        T a = name.equals("Pow") ? T.uniform(rnd, 0.1f, 2f, s(as)) : T.rand(rnd, s(as));
        T b = positive && name.equals("Div") ? T.uniform(rnd, 0.5f, 2f, s(bs)) : T.rand(rnd, s(bs));
        Value y = op.apply(c.in("a", a), c.in("b", b));
        assertShape(y, bshape(s(as), s(bs)));
        assertClose(T.zip(a, b, ref), c.run1(y));
    }

    /** Outputs 1 and 2 (mean, inv_std_var) are left out: written as "" in the model, absent from the node. */
    @Test
    void skipSimplifiedLayerNormWithOmittedOutputs() {
        Case c = new Case();
        T x = T.rand(rnd, 2, 3, 8), s = T.rand(rnd, 2, 3, 8), w = T.rand(rnd, 8);
        Value[] r = c.g.skipSimplifiedLayerNorm(c.in("x", x), c.in("s", s), c.in("w", w), 1e-5f);
        Node n = c.g.nodes().get(c.g.nodes().size() - 1);
        assertEquals(4, n.outputs.size());
        assertNull(n.output(1));
        assertNull(n.output(2));
        List<TensorData> got = c.run(r[0], r[1]);
        T sum = T.zip(x, s, Double::sum), y = T.zeros(2, 3, 8);
        for (int row = 0; row < 6; row++) {
            double ms = 0;
            for (int d = 0; d < 8; d++) ms += sum.v[row * 8 + d] * sum.v[row * 8 + d];
            double inv = 1 / Math.sqrt(ms / 8 + 1e-5);
            for (int d = 0; d < 8; d++) y.v[row * 8 + d] = (float) (sum.v[row * 8 + d] * inv * w.v[d]);
        }
        assertClose(y, got.get(0));
        assertClose(sum, got.get(1));
    }

    @Test
    void maxMinOfThree() {
        Case c = new Case();
        T a = T.rand(rnd, 2, 3, 4), b = T.rand(rnd, 3, 1), d = T.rand(rnd, 4);
        Value va = c.in("a", a), vb = c.in("b", b), vd = c.in("d", d);
        Value max = c.g.max(va, vb, vd), min = c.g.min(va, vb, vd);
        assertShape(max, 2, 3, 4);
        List<TensorData> r = c.run(max, min);
        assertClose(T.zip(T.zip(a, b, Math::max), d, Math::max), r.get(0));
        assertClose(T.zip(T.zip(a, b, Math::min), d, Math::min), r.get(1));
    }

    @Test
    void modInt64() {
        // fmod=0 (integer, Python semantics): the result has the sign of the divisor
        Case c = new Case();
        long[] a = randLongs(rnd, 12, -20, 20), b = randLongs(rnd, 4, 1, 7);
        for (int i = 0; i < b.length; i += 2) b[i] = -b[i];
        Value y = c.g.mod(c.in("a", TensorData.ofLongs(a, 3, 4)), c.in("b", TensorData.ofLongs(b, 4)));
        assertShape(y, 3, 4);
        long[] e = new long[12];
        for (int i = 0; i < 12; i++) e[i] = Math.floorMod(a[i], b[i % 4]);
        assertLongs(e, new int[] {3, 4}, DType.INT64, c.run1(y));
    }

    static Stream<Arguments> comparisons() {
        return Stream.of(
                Arguments.of("Equal", (BinaryOperator<Value>) (x, y) -> x.graph().equal(x, y), (DoubleBinaryOperator) (x, y) -> x == y ? 1 : 0),
                Arguments.of("Less", (BinaryOperator<Value>) (x, y) -> x.graph().less(x, y), (DoubleBinaryOperator) (x, y) -> x < y ? 1 : 0),
                Arguments.of("LessOrEqual", (BinaryOperator<Value>) (x, y) -> x.graph().lessOrEqual(x, y), (DoubleBinaryOperator) (x, y) -> x <= y ? 1 : 0),
                Arguments.of("Greater", (BinaryOperator<Value>) (x, y) -> x.graph().greater(x, y), (DoubleBinaryOperator) (x, y) -> x > y ? 1 : 0),
                Arguments.of("GreaterOrEqual", (BinaryOperator<Value>) (x, y) -> x.graph().greaterOrEqual(x, y), (DoubleBinaryOperator) (x, y) -> x >= y ? 1 : 0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("comparisons")
    void comparison(String name, BinaryOperator<Value> op, DoubleBinaryOperator ref) {
        // small integers as floats so that ties occur
        Case c = new Case();
        T a = T.uniform(rnd, 0f, 3f, 2, 3, 4).map(Math::floor), b = T.uniform(rnd, 0f, 3f, 3, 1).map(Math::floor);
        Value y = op.apply(c.in("a", a), c.in("b", b));
        assertEquals(DType.BOOL, y.type());
        assertShape(y, 2, 3, 4);
        T e = T.zip(a, b, ref);
        long[] el = new long[e.v.length];
        for (int i = 0; i < el.length; i++) el[i] = (long) e.v[i];
        assertLongs(el, e.shape, DType.BOOL, c.run1(y));
    }

    @Test
    void comparisonInt64() {
        Case c = new Case();
        long[] a = randLongs(rnd, 6, 0, 3), b = randLongs(rnd, 3, 0, 3);
        Value va = c.in("a", TensorData.ofLongs(a, 2, 3)), vb = c.in("b", TensorData.ofLongs(b, 3));
        List<TensorData> r = c.run(c.g.equal(va, vb), c.g.less(va, vb));
        long[] eq = new long[6], lt = new long[6];
        for (int i = 0; i < 6; i++) {
            eq[i] = a[i] == b[i % 3] ? 1 : 0;
            lt[i] = a[i] < b[i % 3] ? 1 : 0;
        }
        assertLongs(eq, new int[] {2, 3}, DType.BOOL, r.get(0));
        assertLongs(lt, new int[] {2, 3}, DType.BOOL, r.get(1));
    }

    @Test
    void andOrNot() {
        Case c = new Case();
        boolean[] a = {true, false, true, false, true, true}, b = {true, false, false};
        Value va = c.in("a", TensorData.ofBools(a, 2, 3)), vb = c.in("b", TensorData.ofBools(b, 3));
        Value and = c.g.and(va, vb), or = c.g.or(va, vb), not = c.g.not(va);
        assertShape(and, 2, 3);
        List<TensorData> r = c.run(and, or, not);
        long[] ea = new long[6], eo = new long[6], en = new long[6];
        for (int i = 0; i < 6; i++) {
            ea[i] = a[i] && b[i % 3] ? 1 : 0;
            eo[i] = a[i] || b[i % 3] ? 1 : 0;
            en[i] = a[i] ? 0 : 1;
        }
        assertLongs(ea, new int[] {2, 3}, DType.BOOL, r.get(0));
        assertLongs(eo, new int[] {2, 3}, DType.BOOL, r.get(1));
        assertLongs(en, new int[] {2, 3}, DType.BOOL, r.get(2));
    }

    @Test
    void where() {
        Case c = new Case();
        boolean[] cond = new boolean[2 * 4];
        for (int i = 0; i < cond.length; i++) cond[i] = rnd.nextBoolean();
        T a = T.rand(rnd, 3, 1), b = T.rand(rnd);
        Value y = c.g.where(c.in("cond", TensorData.ofBools(cond, 2, 1, 4)), c.in("a", a), c.in("b", b));
        assertShape(y, 2, 3, 4);
        T e = T.zeros(2, 3, 4);
        forEach(e.shape, i -> e.set(cond[i[0] * 4 + i[2]] ? a.get(i[1], 0) : b.get(), i));
        assertClose(e, c.run1(y));
    }

    // ================================================================ elementwise unary

    static Stream<Arguments> unaryOps() {
        return Stream.of(
                Arguments.of("Sqrt", (UnaryOperator<Value>) x -> x.graph().sqrt(x), (DoubleUnaryOperator) Math::sqrt, true),
                Arguments.of("Reciprocal", (UnaryOperator<Value>) x -> x.graph().reciprocal(x), (DoubleUnaryOperator) x -> 1 / x, true),
                Arguments.of("Exp", (UnaryOperator<Value>) x -> x.graph().exp(x), (DoubleUnaryOperator) Math::exp, false),
                Arguments.of("Log", (UnaryOperator<Value>) x -> x.graph().log(x), (DoubleUnaryOperator) Math::log, true),
                Arguments.of("Sigmoid", (UnaryOperator<Value>) x -> x.graph().sigmoid(x), (DoubleUnaryOperator) x -> 1 / (1 + Math.exp(-x)), false),
                Arguments.of("Neg", (UnaryOperator<Value>) x -> x.graph().neg(x), (DoubleUnaryOperator) x -> -x, false),
                Arguments.of("Abs", (UnaryOperator<Value>) x -> x.graph().abs(x), (DoubleUnaryOperator) Math::abs, false),
                Arguments.of("Tanh", (UnaryOperator<Value>) x -> x.graph().tanh(x), (DoubleUnaryOperator) Math::tanh, false),
                Arguments.of("Cos", (UnaryOperator<Value>) x -> x.graph().cos(x), (DoubleUnaryOperator) Math::cos, false),
                Arguments.of("Sin", (UnaryOperator<Value>) x -> x.graph().sin(x), (DoubleUnaryOperator) Math::sin, false),
                Arguments.of("Floor", (UnaryOperator<Value>) x -> x.graph().floor(x), (DoubleUnaryOperator) Math::floor, false),
                Arguments.of("Ceil", (UnaryOperator<Value>) x -> x.graph().ceil(x), (DoubleUnaryOperator) Math::ceil, false),
                Arguments.of("Identity", (UnaryOperator<Value>) x -> x.graph().identity(x), (DoubleUnaryOperator) x -> x, false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("unaryOps")
    void unary(String name, UnaryOperator<Value> op, DoubleUnaryOperator ref, boolean positive) {
        Case c = new Case();
        T x = positive ? T.uniform(rnd, 0.1f, 4f, 2, 3, 4) : T.uniform(rnd, -4f, 4f, 2, 3, 4);
        Value y = op.apply(c.in("x", x));
        assertShape(y, 2, 3, 4);
        assertClose(x.map(ref), c.run1(y));
    }

    @Test
    void clip() {
        Case c = new Case();
        T x = T.rand(rnd, 3, 4);
        Value y = c.g.clip(c.in("x", x), c.g.scalar(-0.5, DType.FLOAT), c.g.scalar(0.25, DType.FLOAT));
        Value lowOnly = c.g.clip(c.g.inputs().get(0), c.g.scalar(0, DType.FLOAT), null);
        assertShape(y, 3, 4);
        List<TensorData> r = c.run(y, lowOnly);
        assertClose(x.map(v -> Math.min(0.25, Math.max(-0.5, v))), r.get(0));
        assertClose(x.map(v -> Math.max(0, v)), r.get(1));
    }

    // ================================================================ Cast

    @Test
    void castFloatToHalfAndBack() {
        Case c = new Case();
        T x = T.uniform(rnd, -100f, 100f, 4, 5);
        Value h = c.g.cast(c.in("x", x), DType.FLOAT16);
        assertEquals(DType.FLOAT16, h.type());
        Value y = c.g.cast(h, DType.FLOAT);
        assertShape(y, 4, 5);
        List<TensorData> r = c.run(h, y);
        assertClose(x.map(v -> HalfFloats.halfToFloat(HalfFloats.floatToHalf((float) v))), r.get(1));
        assertClose(x.map(v -> HalfFloats.halfToFloat(HalfFloats.floatToHalf((float) v))), r.get(0).castTo(DType.FLOAT));
    }

    @Test
    void castFloatToInt64AndBack() {
        Case c = new Case();
        T x = T.uniform(rnd, -10f, 10f, 3, 4);
        Value xi = c.g.cast(c.in("x", x), DType.INT64);
        assertEquals(DType.INT64, xi.type());
        assertShape(xi, 3, 4);
        Value back = c.g.cast(xi, DType.FLOAT);
        assertSame(back, c.g.cast(back, DType.FLOAT), "cast to the same type is a no-op");
        List<TensorData> r = c.run(xi, back);
        long[] e = new long[x.v.length];
        for (int i = 0; i < e.length; i++) e[i] = (long) x.v[i]; // truncation toward zero
        assertLongs(e, x.shape, DType.INT64, r.get(0));
        assertClose(x.map(v -> (long) v), r.get(1));
    }

    // ================================================================ reductions

    static T reduceRef(T x, int[] axes, boolean keep, String kind) {
        int r = x.shape.length;
        boolean[] red = new boolean[r];
        if (axes.length == 0) Arrays.fill(red, true);
        for (int a : axes) red[a < 0 ? a + r : a] = true;
        int[] kept = x.shape.clone();
        int count = 1;
        for (int k = 0; k < r; k++) if (red[k]) { kept[k] = 1; count *= x.shape[k]; }
        double[] acc = new double[numel(kept)];
        if (kind.equals("max")) Arrays.fill(acc, Double.NEGATIVE_INFINITY);
        forEach(x.shape, idx -> {
            int[] o = idx.clone();
            for (int k = 0; k < r; k++) if (red[k]) o[k] = 0;
            int off = offset(kept, o);
            double v = x.get(idx);
            switch (kind) {
                case "max": acc[off] = Math.max(acc[off], v); break;
                case "sumsq": acc[off] += v * v; break;
                default: acc[off] += v;
            }
        });
        float[] out = new float[acc.length];
        for (int i = 0; i < acc.length; i++) out[i] = (float) (kind.equals("mean") ? acc[i] / count : acc[i]);
        int[] shape = kept;
        if (!keep) {
            List<Integer> l = new ArrayList<>();
            for (int k = 0; k < r; k++) if (!red[k]) l.add(x.shape[k]);
            shape = l.stream().mapToInt(Integer::intValue).toArray();
        }
        return new T(shape, out);
    }

    static Stream<Arguments> reductions() {
        List<Arguments> l = new ArrayList<>();
        for (String kind : List.of("mean", "sum", "max", "sumsq")) {
            for (String axes : List.of("1", "0,2", "-1", "")) {
                for (boolean keep : new boolean[] {true, false}) l.add(Arguments.of(kind, axes, keep));
            }
        }
        return l.stream();
    }

    @ParameterizedTest(name = "{0} axes=[{1}] keepdims={2}")
    @MethodSource("reductions")
    void reduce(String kind, String axesStr, boolean keep) {
        Case c = new Case();
        T x = T.rand(rnd, 2, 3, 4);
        long[] axes = axesStr.isEmpty() ? new long[0] : Arrays.stream(axesStr.split(",")).mapToLong(Long::parseLong).toArray();
        Value in = c.in("x", x);
        Value y;
        switch (kind) {
            case "mean": y = c.g.reduceMean(in, keep, axes); break;
            case "sum": y = c.g.reduceSum(in, keep, axes); break;
            case "max": y = c.g.reduceMax(in, keep, axes); break;
            default: y = c.g.reduceSumSquare(in, keep, axes);
        }
        T e = reduceRef(x, ints(axes), keep, kind);
        assertShape(y, e.shape);
        assertClose(e, c.run1(y));
    }

    // ================================================================ along-one-axis ops

    /** Flat offsets of each line of x along axis. */
    static List<int[]> lines(int[] shape, int axis) {
        int outer = numel(Arrays.copyOf(shape, axis)), n = shape[axis];
        int inner = numel(Arrays.copyOfRange(shape, axis + 1, shape.length));
        List<int[]> l = new ArrayList<>();
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                int[] line = new int[n];
                for (int k = 0; k < n; k++) line[k] = (o * n + k) * inner + i;
                l.add(line);
            }
        }
        return l;
    }

    static T softmaxRef(T x, int axis, boolean log) {
        T o = T.zeros(x.shape);
        for (int[] line : lines(x.shape, axis < 0 ? axis + x.shape.length : axis)) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int i : line) max = Math.max(max, x.v[i]);
            for (int i : line) sum += Math.exp(x.v[i] - max);
            for (int i : line) o.v[i] = (float) (log ? x.v[i] - max - Math.log(sum) : Math.exp(x.v[i] - max) / sum);
        }
        return o;
    }

    @ParameterizedTest(name = "axis={0}")
    @ValueSource(ints = {-1, 0, 1, 2})
    void softmaxAndLogSoftmax(int axis) {
        Case c = new Case();
        T x = T.uniform(rnd, -3f, 3f, 2, 3, 4);
        Value in = c.in("x", x);
        Value sm = c.g.softmax(in, axis), lsm = c.g.logSoftmax(in, axis);
        assertShape(sm, 2, 3, 4);
        assertShape(lsm, 2, 3, 4);
        List<TensorData> r = c.run(sm, lsm);
        assertClose(softmaxRef(x, axis, false), r.get(0));
        assertClose(softmaxRef(x, axis, true), r.get(1));
    }

    static T cumSumRef(T x, int axis, boolean exclusive, boolean reverse) {
        T o = T.zeros(x.shape);
        for (int[] line : lines(x.shape, axis)) {
            double sum = 0;
            for (int k = 0; k < line.length; k++) {
                int i = line[reverse ? line.length - 1 - k : k];
                if (exclusive) { o.v[i] = (float) sum; sum += x.v[i]; }
                else { sum += x.v[i]; o.v[i] = (float) sum; }
            }
        }
        return o;
    }

    @ParameterizedTest(name = "axis={0} exclusive={1} reverse={2}")
    @CsvSource({"0, false, false", "1, false, false", "1, true, false", "1, false, true", "2, true, true"})
    void cumSum(int axis, boolean exclusive, boolean reverse) {
        Case c = new Case();
        T x = T.rand(rnd, 2, 3, 4);
        Value y = c.g.cumSum(c.in("x", x), c.g.scalarInt64(axis), exclusive, reverse);
        assertShape(y, 2, 3, 4);
        assertClose(cumSumRef(x, axis, exclusive, reverse), c.run1(y));
    }

    @ParameterizedTest(name = "axis={0} keepdims={1}")
    @CsvSource({"0, true", "1, false", "-1, true", "2, false"})
    void argMax(int axis, boolean keep) {
        Case c = new Case();
        T x = T.rand(rnd, 2, 3, 4);
        Value y = c.g.argMax(c.in("x", x), axis, keep);
        int ax = axis < 0 ? axis + 3 : axis;
        int[] kept = x.shape.clone();
        kept[ax] = 1;
        long[] e = new long[numel(kept)];
        List<int[]> ls = lines(x.shape, ax);
        for (int li = 0; li < ls.size(); li++) {
            int[] line = ls.get(li);
            int best = 0;
            for (int k = 1; k < line.length; k++) if (x.v[line[k]] > x.v[line[best]]) best = k;
            e[li] = best; // lines come in the order of the kept (reduced) tensor
        }
        int[] shape = kept;
        if (!keep) {
            List<Integer> l = new ArrayList<>();
            for (int k = 0; k < 3; k++) if (k != ax) l.add(x.shape[k]);
            shape = l.stream().mapToInt(Integer::intValue).toArray();
        }
        assertShape(y, shape);
        assertLongs(e, shape, DType.INT64, c.run1(y));
    }

    @ParameterizedTest(name = "axis={0} largest={1}")
    @CsvSource({"-1, true", "-1, false", "1, true", "0, false"})
    void topK(int axis, boolean largest) {
        Case c = new Case();
        T x = T.rand(rnd, 3, 4, 5);
        int k = 2, ax = axis < 0 ? axis + 3 : axis;
        Value[] y = c.g.topK(c.in("x", x), c.g.constInt64(k), axis, largest);
        int[] shape = x.shape.clone();
        shape[ax] = k;
        assertShape(y[0], shape);
        assertShape(y[1], shape);
        assertEquals(DType.INT64, y[1].type());
        T ev = T.zeros(shape);
        long[] ei = new long[ev.v.length];
        List<int[]> in = lines(x.shape, ax), out = lines(shape, ax);
        for (int li = 0; li < in.size(); li++) {
            int[] line = in.get(li);
            Integer[] order = new Integer[line.length];
            for (int i = 0; i < order.length; i++) order[i] = i;
            Comparator<Integer> byValue = Comparator.comparingDouble(i -> x.v[line[i]]);
            Arrays.sort(order, largest ? byValue.reversed() : byValue);
            for (int j = 0; j < k; j++) {
                ev.v[out.get(li)[j]] = x.v[line[order[j]]];
                ei[out.get(li)[j]] = order[j];
            }
        }
        List<TensorData> r = c.run(y);
        assertClose(ev, r.get(0));
        assertLongs(ei, shape, DType.INT64, r.get(1));
    }

    // ================================================================ indexing

    static T gatherRef(T data, long[] idx, int[] idxShape, int axis) {
        int[] outShape = cat(cat(Arrays.copyOf(data.shape, axis), idxShape), Arrays.copyOfRange(data.shape, axis + 1, data.shape.length));
        T out = T.zeros(outShape);
        forEach(outShape, o -> {
            int[] ii = Arrays.copyOfRange(o, axis, axis + idxShape.length);
            long j = idx[offset(idxShape, ii)];
            if (j < 0) j += data.shape[axis];
            int[] d = cat(cat(Arrays.copyOf(o, axis), (int) j), Arrays.copyOfRange(o, axis + idxShape.length, o.length));
            out.set(data.get(d), o);
        });
        return out;
    }

    @ParameterizedTest(name = "data {0} axis {1} indices {2}")
    @CsvSource({
            "10x4, 0, 2x3",    // embedding lookup
            "3x5x2, 1, 4",
            "3x5x2, 1, ''",    // scalar index drops the axis
            "3x5x2, -1, 2x2",
    })
    void gather(String ds, int axis, String is) {
        Case c = new Case();
        T data = T.rand(rnd, s(ds));
        int ax = axis < 0 ? axis + data.shape.length : axis;
        int[] ishape = s(is);
        long[] idx = randLongs(rnd, numel(ishape), -data.shape[ax], data.shape[ax]); // negative indices count from the end
        Value y = c.g.gather(c.in("data", data), c.in("idx", TensorData.ofLongs(idx, longs(ishape))), axis);
        T e = gatherRef(data, idx, ishape, ax);
        assertShape(y, e.shape);
        assertClose(e, c.run1(y));
    }

    @Test
    void gatherEmbeddingFromParameter() {
        Case c = new Case();
        T table = T.rand(rnd, 7, 3);
        Value w = c.g.parameter("embed.weight", table.data());
        long[] ids = {6, 0, 3, 3};
        Value y = c.g.gather(w, c.in("ids", TensorData.ofLongs(ids, 1, 4)), 0);
        assertShape(y, 1, 4, 3);
        assertClose(gatherRef(table, ids, new int[] {1, 4}, 0), c.run1(y));
    }

    @ParameterizedTest(name = "axis={0}")
    @ValueSource(ints = {0, 1, -1})
    void gatherElements(int axis) {
        Case c = new Case();
        T data = T.rand(rnd, 3, 4);
        int ax = axis < 0 ? axis + 2 : axis;
        int[] ishape = ax == 0 ? new int[] {2, 4} : new int[] {3, 2};
        long[] idx = randLongs(rnd, numel(ishape), 0, data.shape[ax]);
        Value y = c.g.gatherElements(c.in("data", data), c.in("idx", TensorData.ofLongs(idx, longs(ishape))), axis);
        assertShape(y, ishape);
        T e = T.zeros(ishape);
        forEach(ishape, i -> {
            int[] d = i.clone();
            d[ax] = (int) idx[offset(ishape, i)];
            e.set(data.get(d), i);
        });
        assertClose(e, c.run1(y));
    }

    @ParameterizedTest(name = "reduction={0} axis={1}")
    @CsvSource({"none, 1", "add, 1", "none, 0", "add, 0", "mul, 1"})
    void scatterElements(String reduction, int axis) {
        Case c = new Case();
        T data = T.rand(rnd, 3, 4);
        int[] ishape = axis == 0 ? new int[] {2, 4} : new int[] {3, 2};
        long[] idx = new long[numel(ishape)];
        int len = data.shape[axis];
        if (reduction.equals("none")) {
            // distinct targets along the axis, so the result is defined
            forEach(ishape, i -> idx[offset(ishape, i)] = (i[axis] * 3 + (axis == 0 ? i[1] : i[0])) % len);
        } else {
            for (int i = 0; i < idx.length; i++) idx[i] = rnd.nextInt(len); // duplicates accumulate
        }
        T upd = T.rand(rnd, ishape);
        Value y = c.g.scatterElements(c.in("data", data), c.in("idx", TensorData.ofLongs(idx, longs(ishape))), c.in("upd", upd),
                axis, reduction);
        assertShape(y, 3, 4);
        T e = new T(data.shape, data.v.clone());
        forEach(ishape, i -> {
            int[] d = i.clone();
            d[axis] = (int) idx[offset(ishape, i)];
            float u = upd.get(i);
            switch (reduction) {
                case "none": e.set(u, d); break;
                case "add": e.set(e.get(d) + u, d); break;
                default: e.set(e.get(d) * u, d);
            }
        });
        assertClose(e, c.run1(y));
    }

    @ParameterizedTest(name = "reduction={0}")
    @ValueSource(strings = {"none", "add"})
    void scatterND(String reduction) {
        Case c = new Case();
        T data = T.rand(rnd, 4, 3);
        long[] rows = reduction.equals("none") ? new long[] {2, 0} : new long[] {1, 3, 1};
        T upd = T.rand(rnd, rows.length, 3);
        Value y = c.g.scatterND(c.in("data", data), c.in("idx", TensorData.ofLongs(rows, rows.length, 1)), c.in("upd", upd), reduction);
        assertShape(y, 4, 3);
        T e = new T(data.shape, data.v.clone());
        for (int n = 0; n < rows.length; n++) {
            for (int j = 0; j < 3; j++) {
                int r = (int) rows[n];
                e.set(reduction.equals("add") ? e.get(r, j) + upd.get(n, j) : upd.get(n, j), r, j);
            }
        }
        assertClose(e, c.run1(y));
    }

    @ParameterizedTest(name = "upper={0} k={1}")
    @CsvSource({"true, 0", "true, 1", "true, -1", "false, 0", "false, 2", "false, -1"})
    void trilu(boolean upper, int k) {
        Case c = new Case();
        T x = T.rand(rnd, 2, 3, 4);
        Value y = c.g.trilu(c.in("x", x), k, upper);
        assertShape(y, 2, 3, 4);
        T e = T.zeros(x.shape);
        forEach(x.shape, i -> {
            int d = i[2] - i[1];
            e.set((upper ? d >= k : d <= k) ? x.get(i) : 0, i);
        });
        assertClose(e, c.run1(y));
    }

    // ================================================================ shape manipulation

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "'0,-1', 2x12",
            "'-1,4', 6x4",
            "'4,0,2', 4x3x2",
            "'0,0,2,2', 2x3x2x2",
            "'24', 24",
    })
    void reshape(String target, String expected) {
        Case c = new Case();
        T x = T.rand(rnd, 2, 3, 4);
        long[] t = Arrays.stream(target.split(",")).mapToLong(Long::parseLong).toArray();
        Value y = c.g.reshape(c.in("x", x), t);
        assertShape(y, s(expected));
        assertClose(new T(s(expected), x.v), c.run1(y));
    }

    @Test
    void reshapeToRuntimeShape() {
        Case c = new Case();
        T x = T.rand(rnd, 2, 3, 4), like = T.rand(rnd, 6, 4);
        Value y = c.g.reshape(c.in("x", x), c.g.shape(c.in("like", like)));
        assertShape(y, null, null); // rank known from the shape tensor's length, sizes not
        assertClose(new T(like.shape, x.v), c.run1(y));
    }

    static T transposeRef(T x, int[] perm) {
        int[] shape = new int[perm.length];
        for (int i = 0; i < perm.length; i++) shape[i] = x.shape[perm[i]];
        T o = T.zeros(shape);
        forEach(shape, i -> {
            int[] src = new int[perm.length];
            for (int k = 0; k < perm.length; k++) src[perm[k]] = i[k];
            o.set(x.get(src), i);
        });
        return o;
    }

    @ParameterizedTest(name = "perm={0}")
    @ValueSource(strings = {"2,0,1", "1,0,2", "0,1,2", "2,1,0"})
    void transpose(String permStr) {
        Case c = new Case();
        T x = T.rand(rnd, 2, 3, 4);
        int[] perm = Arrays.stream(permStr.split(",")).mapToInt(Integer::parseInt).toArray();
        Value y = c.g.transpose(c.in("x", x), longs(perm));
        T e = transposeRef(x, perm);
        assertShape(y, e.shape);
        assertClose(e, c.run1(y));
    }

    @Test
    void transposeWithoutPermReversesAxes() {
        Case c = new Case();
        T x = T.rand(rnd, 2, 3, 4);
        Value y = c.g.transpose(c.in("x", x));
        assertShape(y, 4, 3, 2);
        assertClose(transposeRef(x, new int[] {2, 1, 0}), c.run1(y));
    }

    @ParameterizedTest(name = "axis={0}")
    @ValueSource(ints = {1, -2})
    void concat(int axis) {
        Case c = new Case();
        T a = T.rand(rnd, 2, 3, 4), b = T.rand(rnd, 2, 1, 4), d = T.rand(rnd, 2, 2, 4);
        Value y = c.g.concat(axis, c.in("a", a), c.in("b", b), c.in("d", d));
        assertShape(y, 2, 6, 4);
        T e = T.zeros(2, 6, 4);
        forEach(e.shape, i -> {
            int j = i[1];
            T src = j < 3 ? a : j < 4 ? b : d;
            int jj = j < 3 ? j : j < 4 ? j - 3 : j - 4;
            e.set(src.get(i[0], jj, i[2]), i);
        });
        assertClose(e, c.run1(y));
    }

    /** x restricted to the given index lists per axis. */
    static T take(T x, int[][] idx) {
        int[] shape = new int[idx.length];
        for (int k = 0; k < idx.length; k++) shape[k] = idx[k].length;
        T o = T.zeros(shape);
        forEach(shape, i -> {
            int[] src = new int[i.length];
            for (int k = 0; k < i.length; k++) src[k] = idx[k][i[k]];
            o.set(x.get(src), i);
        });
        return o;
    }

    static int[] all(int n) { return java.util.stream.IntStream.range(0, n).toArray(); }

    static int[] range(int from, int to) { return java.util.stream.IntStream.range(from, to).toArray(); }

    @Test
    void splitSizes() {
        Case c = new Case();
        T x = T.rand(rnd, 2, 6, 4);
        Value[] parts = c.g.split(c.in("x", x), 1, 1, 2, 3);
        assertEquals(3, parts.length);
        assertShape(parts[0], 2, 1, 4);
        assertShape(parts[1], 2, 2, 4);
        assertShape(parts[2], 2, 3, 4);
        List<TensorData> r = c.run(parts);
        assertClose(take(x, new int[][] {all(2), range(0, 1), all(4)}), r.get(0));
        assertClose(take(x, new int[][] {all(2), range(1, 3), all(4)}), r.get(1));
        assertClose(take(x, new int[][] {all(2), range(3, 6), all(4)}), r.get(2));
    }

    @Test
    void splitEqualParts() {
        Case c = new Case();
        T x = T.rand(rnd, 2, 6, 4);
        Value[] parts = c.g.splitEqual(c.in("x", x), -1, 2);
        assertShape(parts[0], 2, 6, 2);
        assertShape(parts[1], 2, 6, 2);
        List<TensorData> r = c.run(parts);
        assertClose(take(x, new int[][] {all(2), all(6), range(0, 2)}), r.get(0));
        assertClose(take(x, new int[][] {all(2), all(6), range(2, 4)}), r.get(1));
    }

    @Test
    void splitEqualUneven() {
        // opset 18+: the last chunk is smaller when the axis does not divide evenly
        Case c = new Case();
        T x = T.rand(rnd, 5, 2);
        Value[] parts = c.g.splitEqual(c.in("x", x), 0, 2);
        List<TensorData> r = c.run(parts);
        assertClose(take(x, new int[][] {range(0, 3), all(2)}), r.get(0));
        assertClose(take(x, new int[][] {range(3, 5), all(2)}), r.get(1));
    }

    /** ONNX Slice semantics for one axis: the selected indices. */
    static int[] sliceIdx(long st, long en, long step, int len) {
        if (st < 0) st += len;
        if (en < 0) en += len;
        if (step > 0) {
            st = Math.max(0, Math.min(len, st));
            en = Math.max(0, Math.min(len, en));
        } else {
            st = Math.max(0, Math.min(len - 1, st));
            en = Math.max(-1, Math.min(len - 1, en));
        }
        List<Integer> l = new ArrayList<>();
        for (long i = st; step > 0 ? i < en : i > en; i += step) l.add((int) i);
        return l.stream().mapToInt(Integer::intValue).toArray();
    }

    @ParameterizedTest(name = "axis={0} {1}:{2}:{3}")
    @CsvSource({
            "1, 1, 4, 1",
            "1, 0, 9223372036854775807, 2",
            "-1, -3, -1, 1",
            "1, -1, -9223372036854775808, -1",   // reversed
            "0, 10, -10, -2",
            "2, -10, -100, -1",                  // start below range with a negative step: clamps to 0
            "1, 5, 2, 1",                        // empty
            "2, 100, 200, 1",                    // empty, past the end
            "0, -100, 100, 3",
    })
    void slice(int axis, long start, long end, long step) {
        Case c = new Case();
        T x = T.rand(rnd, 4, 6, 5);
        Value y = c.g.slice(c.in("x", x), axis, start, end, step);
        int ax = axis < 0 ? axis + 3 : axis;
        int[][] idx = {all(4), all(6), all(5)};
        idx[ax] = sliceIdx(start, end, step, x.shape[ax]);
        T e = take(x, idx);
        assertClose(e, c.run1(y));
        assertShape(y, e.shape);
    }

    @Test
    void sliceMultiAxis() {
        Case c = new Case();
        T x = T.rand(rnd, 4, 6, 5);
        Value in = c.in("x", x);
        Value y = c.g.slice(in, c.g.constInt64(1, -2), c.g.constInt64(3, 1000), c.g.constInt64(0, 2), c.g.constInt64(1, 1));
        Value noAxes = c.g.slice(in, c.g.constInt64(0, 1), c.g.constInt64(2, 5), null, null);
        Value threeArg = c.g.slice(in, 2, 1, Long.MAX_VALUE);
        assertShape(y, 2, 6, 2);
        assertShape(noAxes, 2, 4, 5);
        assertShape(threeArg, 4, 6, 4);
        List<TensorData> r = c.run(y, noAxes, threeArg);
        assertClose(take(x, new int[][] {range(1, 3), all(6), range(3, 5)}), r.get(0));
        assertClose(take(x, new int[][] {range(0, 2), range(1, 5), all(5)}), r.get(1));
        assertClose(take(x, new int[][] {all(4), all(6), range(1, 5)}), r.get(2));
    }

    @Test
    void sliceWithRuntimeBounds() {
        Case c = new Case();
        T x = T.rand(rnd, 4, 6);
        Value in = c.in("x", x);
        Value end = c.in("end", TensorData.ofLongs(new long[] {4}, 1));
        Value y = c.g.slice(in, c.g.constInt64(1), end, c.g.constInt64(1), null);
        assertShape(y, 4, null);
        assertClose(take(x, new int[][] {all(4), range(1, 4)}), c.run1(y));
    }

    @ParameterizedTest(name = "axes={0}")
    @CsvSource({"0, 1x3x4", "-1, 3x4x1", "'0,3', 1x3x4x1", "'1,-1', 3x1x4x1"})
    void unsqueeze(String axes, String expected) {
        Case c = new Case();
        T x = T.rand(rnd, 3, 4);
        Value y = c.g.unsqueeze(c.in("x", x), Arrays.stream(axes.split(",")).mapToLong(Long::parseLong).toArray());
        assertShape(y, s(expected));
        assertClose(new T(s(expected), x.v), c.run1(y));
    }

    @ParameterizedTest(name = "axes={0}")
    @CsvSource({"0, 3x1x4", "'0,2', 3x4", "-2, 1x3x4", "'', 3x4"})
    void squeeze(String axes, String expected) {
        Case c = new Case();
        T x = T.rand(rnd, 1, 3, 1, 4);
        long[] ax = axes.isEmpty() ? new long[0] : Arrays.stream(axes.split(",")).mapToLong(Long::parseLong).toArray();
        Value y = c.g.squeeze(c.in("x", x), ax);
        assertClose(new T(s(expected), x.v), c.run1(y));
        assertShape(y, s(expected));
    }

    @ParameterizedTest(name = "{0} to {1}")
    @CsvSource({"3x1, 2x3x4, 2x3x4", "2x3x1, 4, 2x3x4", "3x4, 2x1x1, 2x3x4", "1, 2x2, 2x2"})
    void expand(String xs, String target, String expected) {
        Case c = new Case();
        T x = T.rand(rnd, s(xs));
        Value y = c.g.expand(c.in("x", x), c.g.constInt64(longs(s(target))));
        assertShape(y, s(expected));
        assertClose(T.zip(x, T.zeros(s(target)), (a, b) -> a), c.run1(y));
    }

    @Test
    void expandToRuntimeShape() {
        Case c = new Case();
        T x = T.rand(rnd, 3, 1), like = T.rand(rnd, 2, 3, 4);
        Value y = c.g.expand(c.in("x", x), c.g.shape(c.in("like", like)));
        assertShape(y, null, null, null);
        assertClose(T.zip(x, like, (a, b) -> a), c.run1(y));
    }

    @Test
    void pad() {
        Case c = new Case();
        T x = T.rand(rnd, 2, 3, 4);
        Value y = c.g.pad(c.in("x", x), c.g.constInt64(1, 0, 2, 0, 2, 1), c.g.scalar(0.5, DType.FLOAT));
        assertEquals(3, y.rank());
        T e = T.zeros(3, 5, 7);
        forEach(e.shape, i -> {
            int a = i[0] - 1, b = i[1], d = i[2] - 2;
            boolean inside = a >= 0 && a < 2 && b < 3 && d >= 0 && d < 4;
            e.set(inside ? x.get(a, b, d) : 0.5f, i);
        });
        assertClose(e, c.run1(y));
    }

    @Test
    void shapeAndSize() {
        Graph g = Graph.create("shape");
        Value x = g.input("x", DType.FLOAT, "batch", 4, 5);
        Value all = g.shape(x), d1 = g.shape(x, 1), last = g.shape(x, -1), first = g.shape(x, 0), size = g.size(x);
        assertShape(all, 3);
        assertShape(d1, 1);
        assertShape(last, 1);
        assertShape(size);
        assertEquals(DType.INT64, all.type());
        g.output("all", all);
        g.output("d1", d1);
        g.output("last", last);
        g.output("first", first);
        g.output("size", size);
        Map<String, TensorData> r = OrtRunner.run(g, Map.of("x", T.rand(rnd, 2, 4, 5).data()));
        for (Value o : g.outputs()) checkInferred(o, r.get(o.name()));
        assertArrayEquals(new long[] {2, 4, 5}, r.get("all").toLongs());
        assertArrayEquals(new long[] {4}, r.get("d1").toLongs());
        assertArrayEquals(new long[] {5}, r.get("last").toLongs());
        assertArrayEquals(new long[] {2}, r.get("first").toLongs());
        assertArrayEquals(new long[] {40}, r.get("size").toLongs());
    }

    @Test
    void rangeFloatAndInt64() {
        Case c = new Case();
        Value f = c.g.range(c.g.scalar(0.5, DType.FLOAT), c.g.scalar(3.0, DType.FLOAT), c.g.scalar(0.75, DType.FLOAT));
        Value i = c.g.range(c.g.scalarInt64(10), c.g.scalarInt64(-2), c.g.scalarInt64(-3));
        Value n = c.in("n", TensorData.ofLongs(new long[] {4}));
        Value dyn = c.g.range(c.g.scalarInt64(0), n, c.g.scalarInt64(1));
        assertEquals(1, f.rank());
        List<TensorData> r = c.run(f, i, dyn);
        assertClose(new T(new int[] {4}, new float[] {0.5f, 1.25f, 2f, 2.75f}), r.get(0));
        assertLongs(new long[] {10, 7, 4, 1}, new int[] {4}, DType.INT64, r.get(1));
        assertLongs(new long[] {0, 1, 2, 3}, new int[] {4}, DType.INT64, r.get(2));
    }

    @Test
    void constantOfShape() {
        Case c = new Case();
        Value f = c.g.constantOfShape(c.g.constInt64(2, 3), TensorData.ofFloats(new float[] {0.5f}, 1));
        Value l = c.g.constantOfShape(c.g.constInt64(4), TensorData.ofLongs(new long[] {-7}, 1));
        Value dyn = c.g.constantOfShape(c.g.shape(c.in("x", T.rand(rnd, 3, 2))), TensorData.ofFloats(new float[] {2f}, 1));
        assertShape(f, 2, 3);
        assertShape(l, 4);
        assertEquals(DType.INT64, l.type());
        assertShape(dyn, null, null);
        List<TensorData> r = c.run(f, l, dyn);
        T e = T.zeros(2, 3).map(v -> 0.5);
        assertClose(e, r.get(0));
        assertLongs(new long[] {-7, -7, -7, -7}, new int[] {4}, DType.INT64, r.get(1));
        assertClose(T.zeros(3, 2).map(v -> 2), r.get(2));
    }

    @Test
    void randomUniformLike() {
        Case c = new Case();
        Value y = c.g.randomUniformLike(c.in("x", T.zeros(30, 40)), DType.FLOAT, -2f, 3f, 7f);
        assertShape(y, 30, 40);
        float[] v = c.run1(y).toFloats();
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
        for (float f : v) {
            min = Math.min(min, f);
            max = Math.max(max, f);
        }
        assertTrue(min >= -2f && max < 3f, "values in [-2, 3): " + min + ".." + max);
        assertTrue(min < -1.5f && max > 2.5f, "values spread over the range: " + min + ".." + max);
    }

    @Test
    void catAttentionBuildsInOwnDomain() {
        // the kernel lives in the native custom-op library, not in plain ORT: check the node only
        Graph g = Graph.create("attn");
        Value q = g.input("q", DType.FLOAT, "b", 4, "t", 16);
        Value k = g.input("k", DType.FLOAT, "b", 4, "t", 16);
        Value v = g.input("v", DType.FLOAT, "b", 4, "t", 16);
        Value y = g.catAttention(q, k, v, 8, 0.25f);
        assertShape(y, "b", 4, "t", 16);
        g.output("y", y);
        OnnxModel m = new OnnxModel(g);
        assertTrue(m.usesCustomOps());
        OnnxMl.ModelProto p = m.toProto();
        assertTrue(p.getOpsetImportList().stream().anyMatch(o -> o.getDomain().equals(Domains.CAT) && o.getVersion() == Domains.CAT_OPSET));
        OnnxMl.NodeProto n = p.getGraph().getNode(0);
        assertEquals("CatAttention", n.getOpType());
        assertEquals(Domains.CAT, n.getDomain());
    }

    @Test
    void valueHelpersDelegate() {
        Case c = new Case();
        T a = T.rand(rnd, 2, 3), b = T.rand(rnd, 3, 2);
        Value va = c.in("a", a), vb = c.in("b", b);
        Value y = va.matMul(vb).add(c.g.scalar(1, DType.FLOAT)).mul(va.matMul(vb)).sub(va.matMul(vb)).div(c.g.scalar(2, DType.FLOAT))
                .reshape(4).transpose(0);
        assertShape(y, 4);
        T m = matMulRef(a, b);
        assertClose(new T(new int[] {4}, m.map(v -> ((v + 1) * v - v) / 2).v), c.run1(y));
    }

    // ================================================================ control flow

    @Test
    void loopAccumulatorWithScanOutput() {
        // acc_i = acc_{i-1} + i * y over 5 iterations; the scan output stacks acc after each iteration
        Case c = new Case();
        T x = T.rand(rnd, 3), y = T.rand(rnd, 3);
        Value xv = c.in("x", x), yv = c.in("y", y);
        Value[] r = c.g.loop(c.g.scalarInt64(5), c.g.scalarBool(true), List.of(xv), null, (b, iter, carried) -> {
            Value acc = b.add(carried.get(0), b.mul(b.cast(iter, DType.FLOAT), yv)); // y from the outer scope
            return List.of(b.scalarBool(true), acc, acc);
        });
        assertEquals(2, r.length);
        assertShape(r[0], 3);
        assertShape(r[1], null, 3);
        T scan = T.zeros(5, 3);
        float[] acc = x.v.clone();
        for (int i = 0; i < 5; i++) {
            for (int j = 0; j < 3; j++) {
                acc[j] += i * y.v[j];
                scan.set(acc[j], i, j);
            }
        }
        List<TensorData> out = c.run(r);
        assertClose(new T(new int[] {3}, acc), out.get(0));
        assertClose(scan, out.get(1));
    }

    @Test
    void loopGrowingByConcat() {
        // the carried tensor gains a row per iteration: row_i = last row + i
        Case c = new Case();
        T x = T.rand(rnd, 1, 2);
        Value[] r = c.g.loop(c.g.scalarInt64(4), c.g.scalarBool(true), List.of(c.in("x", x)),
                List.of(Shape.of(Dim.unknown(), 2)), (b, iter, carried) -> {
                    Value t = carried.get(0);
                    Value row = b.add(b.slice(t, 0, -1, Long.MAX_VALUE), b.cast(iter, DType.FLOAT));
                    return List.of(b.scalarBool(true), b.concat(0, t, row));
                });
        assertShape(r[0], null, 2);
        T e = T.zeros(5, 2);
        for (int j = 0; j < 2; j++) {
            e.set(x.v[j], 0, j);
            for (int i = 0; i < 4; i++) e.set(e.get(i, j) + i, i + 1, j);
        }
        assertClose(e, c.run1(r[0]));
    }

    @Test
    void loopStopsOnCondition() {
        // cond_out = iter < 2: iterations 0, 1, 2 run, then the loop stops (max 10 trips)
        Case c = new Case();
        Value[] r = c.g.loop(c.g.scalarInt64(10), c.g.scalarBool(true), List.of(c.g.scalarInt64(100)), null, (b, iter, carried) -> {
            Value next = b.add(carried.get(0), iter);
            return List.of(b.less(iter, b.scalarInt64(2)), next, b.unsqueeze(iter, 0));
        });
        assertShape(r[0]);
        assertShape(r[1], null, 1);
        List<TensorData> out = c.run(r);
        assertLongs(new long[] {103}, new int[0], DType.INT64, out.get(0));
        assertLongs(new long[] {0, 1, 2}, new int[] {3, 1}, DType.INT64, out.get(1));
    }

    @ParameterizedTest(name = "cond={0}")
    @ValueSource(booleans = {true, false})
    void ifElse(boolean cond) {
        Case c = new Case();
        T x = T.rand(rnd, 2, 3);
        Value xv = c.in("x", x);
        Value cv = c.in("cond", TensorData.ofBools(new boolean[] {cond}));
        Value[] same = c.g.ifElse(cv,
                t -> List.of(t.mul(xv, t.scalar(2, DType.FLOAT)), t.scalarInt64(1)),
                e -> List.of(e.sub(xv, e.scalar(1, DType.FLOAT)), e.scalarInt64(2)));
        // branches of different shapes: only the rank survives
        Value[] differ = c.g.ifElse(cv, t -> List.of(xv), e -> List.of(e.slice(xv, 1, 0, 2)));
        assertShape(same[0], 2, 3);
        assertShape(same[1]);
        assertShape(differ[0], null, null);
        List<TensorData> r = c.run(same[0], same[1], differ[0]);
        assertClose(x.map(v -> cond ? v * 2 : v - 1), r.get(0));
        assertLongs(new long[] {cond ? 1 : 2}, new int[0], DType.INT64, r.get(1));
        assertClose(cond ? x : take(x, new int[][] {all(2), range(0, 2)}), r.get(2));
    }

    @Test
    void constantsAreDeduplicated() {
        Graph g = Graph.create("dedup");
        assertSame(g.constInt64(1, 2, 3), g.constInt64(1, 2, 3));
        assertSame(g.scalar(0.5, DType.FLOAT), g.scalar(0.5, DType.FLOAT));
        assertFalse(g.scalar(0.5, DType.FLOAT) == g.scalar(0.5, DType.FLOAT16));
    }
}
