package org.catonnx.autodiff;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.GraphBuildException;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.OrtRunner;
import org.catonnx.onnx.Shape;
import org.catonnx.onnx.TensorData;
import org.catonnx.onnx.Value;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Finite-difference checks of every gradient rule in float64 graphs run by ONNX Runtime.
 * Each case runs twice: with static input shapes and with every input dimension symbolic
 * (which exercises the runtime-shape paths of the rules).
 */
class GradientRulesTest {
    interface Fn {
        Value apply(Graph g, Value[] x);
    }

    private static final class Case {
        final String name;
        final Fn fn;
        final long[][] shapes;
        boolean positive;
        double h = 1e-6, tol = 1e-6;
        boolean dynamic = true;

        Case(String name, Fn fn, long[][] shapes) {
            this.name = name;
            this.fn = fn;
            this.shapes = shapes;
        }

        Case positive() { positive = true; return this; }
        Case staticOnly() { dynamic = false; return this; }
        Case tolerance(double step, double t) { h = step; tol = t; return this; }
    }

    private static long[][] s(long[]... shapes) { return shapes; }
    private static long[] d(long... dims) { return dims; }

    private static Case c(String name, Fn fn, long[]... shapes) {
        return new Case(name, fn, shapes);
    }

    private static Value constD(Graph g, Random r, long... shape) {
        double[] v = new double[(int) TensorData.numElements(shape)];
        for (int i = 0; i < v.length; i++) v[i] = r.nextDouble() * 2 - 1;
        return g.constant(TensorData.ofDoubles(v, shape));
    }

    private static Value idx(Graph g, long[] v, long... shape) {
        return g.constant(TensorData.ofLongs(v, shape));
    }

    static List<Case> cases() {
        List<Case> l = new ArrayList<>();
        DType f64 = DType.DOUBLE;
        // broadcasting arithmetic
        l.add(c("add", (g, x) -> g.add(x[0], x[1]), d(2, 3, 4), d(3, 1)));
        l.add(c("add_lead", (g, x) -> g.add(x[0], x[1]), d(1, 4), d(2, 3, 4)));
        l.add(c("sub", (g, x) -> g.sub(x[0], x[1]), d(2, 1, 4), d(3, 1)));
        l.add(c("mul", (g, x) -> g.mul(x[0], x[1]), d(2, 3, 4), d(4)));
        l.add(c("mul_same_input", (g, x) -> g.add(g.mul(x[0], x[0]), g.sin(x[0])), d(3, 4)));
        l.add(c("div", (g, x) -> g.div(x[0], g.add(x[1], g.scalar(1.5, f64))), d(2, 3), d(2, 1)));
        l.add(c("pow_const", (g, x) -> g.pow(x[0], g.scalar(2.5, f64)), d(3, 4)).positive());
        l.add(c("pow_const_tensor", (g, x) -> g.pow(x[0], g.constant(TensorData.ofDoubles(new double[] {0.5, 2, 3}, 3))), d(2, 3)).positive());
        l.add(c("pow_both", (g, x) -> g.pow(x[0], x[1]), d(2, 3), d(3)).positive());
        l.add(c("where", (g, x) -> g.where(g.constant(TensorData.ofBools(new boolean[] {true, false, true}, 3)), x[0], x[1]),
                d(2, 3), d(2, 1)));
        // unary
        l.add(c("sqrt", (g, x) -> g.sqrt(x[0]), d(3, 4)).positive());
        l.add(c("reciprocal", (g, x) -> g.reciprocal(x[0]), d(3, 4)).positive());
        l.add(c("exp", (g, x) -> g.exp(x[0]), d(3, 4)));
        l.add(c("log", (g, x) -> g.log(x[0]), d(3, 4)).positive());
        l.add(c("sigmoid", (g, x) -> g.sigmoid(x[0]), d(3, 4)));
        l.add(c("neg", (g, x) -> g.neg(x[0]), d(3, 4)));
        l.add(c("tanh", (g, x) -> g.tanh(x[0]), d(3, 4)));
        l.add(c("sin_cos", (g, x) -> g.mul(g.sin(x[0]), g.cos(x[0])), d(3, 4)));
        l.add(c("abs", (g, x) -> g.abs(x[0]), d(3, 4)));
        l.add(c("clip", (g, x) -> g.clip(x[0], g.scalar(-0.5, f64), g.scalar(0.5, f64)), d(3, 4)));
        l.add(c("identity", (g, x) -> g.identity(x[0]), d(3, 4)));
        l.add(c("cast", (g, x) -> g.cast(g.mul(g.cast(x[0], DType.FLOAT), g.scalar(3, DType.FLOAT)), f64), d(3, 4))
                .tolerance(1e-2, 2e-5));
        // linear algebra
        l.add(c("matmul_linear", (g, x) -> g.matMul(x[0], x[1]), d(2, 3, 4), d(4, 5)));
        l.add(c("matmul_2d", (g, x) -> g.matMul(x[0], x[1]), d(3, 4), d(4, 5)));
        l.add(c("matmul_batch_broadcast", (g, x) -> g.matMul(x[0], x[1]), d(2, 1, 3, 4), d(3, 4, 2)));
        l.add(c("matmul_batch_broadcast_b", (g, x) -> g.matMul(x[0], x[1]), d(3, 2, 4), d(1, 4, 2)));
        l.add(c("matmul_vec_left", (g, x) -> g.matMul(x[0], x[1]), d(4), d(2, 4, 3)));
        l.add(c("matmul_vec_right", (g, x) -> g.matMul(x[0], x[1]), d(2, 3, 4), d(4)));
        l.add(c("gemm", (g, x) -> g.gemm(x[0], x[1], x[2], 0.7f, 1.3f, false, false), d(3, 4), d(4, 2), d(2)));
        l.add(c("gemm_trans", (g, x) -> g.gemm(x[0], x[1], x[2], 1f, 1f, true, true), d(4, 3), d(2, 4), d(3, 1)));
        // reductions, softmax
        l.add(c("reduce_sum_keep", (g, x) -> g.reduceSum(x[0], true, 1), d(2, 3, 4)));
        l.add(c("reduce_sum_nokeep", (g, x) -> g.reduceSum(x[0], false, -1, 0), d(2, 3, 4)));
        l.add(c("reduce_sum_all", (g, x) -> g.reduceSum(x[0], false), d(2, 3, 4)));
        l.add(c("reduce_mean_keep", (g, x) -> g.reduceMean(x[0], true, -1), d(2, 3, 4)));
        l.add(c("reduce_mean_nokeep", (g, x) -> g.reduceMean(x[0], false, 0, 2), d(2, 3, 4)));
        l.add(c("reduce_sum_square", (g, x) -> g.reduceSumSquare(x[0], false, 1), d(2, 3, 4)));
        l.add(c("softmax", (g, x) -> g.softmax(x[0], -1), d(2, 3, 4)));
        l.add(c("softmax_axis1", (g, x) -> g.softmax(x[0], 1), d(2, 3, 4)));
        l.add(c("log_softmax", (g, x) -> g.logSoftmax(x[0], -1), d(2, 3, 4)));
        l.add(c("cum_sum", (g, x) -> g.cumSum(x[0], g.scalarInt64(1), false, false), d(2, 4)));
        l.add(c("cum_sum_rev_excl", (g, x) -> g.cumSum(x[0], g.scalarInt64(1), true, true), d(2, 4)));
        l.add(c("trilu", (g, x) -> g.trilu(x[0], 0, false), d(3, 3)));
        // indexing
        l.add(c("gather_rows_repeated", (g, x) -> g.gather(x[0], idx(g, new long[] {0, 2, 2, 2, 3, 0}, 2, 3), 0), d(5, 3)));
        l.add(c("gather_negative", (g, x) -> g.gather(x[0], idx(g, new long[] {-1, 1, -1}, 3), 0), d(4, 2)));
        l.add(c("gather_axis1", (g, x) -> g.gather(x[0], idx(g, new long[] {1, 1, 0}, 3), 1), d(2, 4, 3)));
        l.add(c("gather_scalar", (g, x) -> g.gather(x[0], g.constant(TensorData.ofLongs(new long[] {2})).reshape(), 0), d(4, 3)));
        l.add(c("gather_runtime_idx", (g, x) -> g.gather(x[0], g.range(g.scalarInt64(0), g.squeeze(g.shape(x[1], 0), 0), g.scalarInt64(1)), 0),
                d(5, 3), d(3)));
        l.add(c("gather_elements", (g, x) -> g.gatherElements(x[0], idx(g, new long[] {0, 0, 3, 1, 1, 1}, 2, 3), 1), d(2, 4)));
        // shapes
        l.add(c("reshape", (g, x) -> g.reshape(x[0], 0, -1), d(2, 3, 4)));
        l.add(c("transpose", (g, x) -> g.transpose(x[0], 2, 0, 1), d(2, 3, 4)));
        l.add(c("transpose_default", (g, x) -> g.transpose(x[0]), d(2, 3, 4)));
        l.add(c("concat", (g, x) -> g.concat(1, x[0], x[1], x[0]), d(2, 3), d(2, 2)));
        l.add(c("split", (g, x) -> g.split(x[0], -1, 1, 3)[1], d(2, 4)));
        l.add(c("split_both", (g, x) -> {
            Value[] p = g.split(x[0], 0, 2, 1);
            return g.concat(0, g.neg(p[1]), p[0]);
        }, d(3, 2)));
        l.add(c("slice", (g, x) -> g.slice(x[0], 1, 1, -1), d(2, 5)));
        l.add(c("slice_to_end", (g, x) -> g.slice(x[0], -1, 2, Long.MAX_VALUE), d(2, 5)));
        l.add(c("slice_multi", (g, x) -> g.slice(x[0], g.constInt64(1, 0), g.constInt64(3, -1), g.constInt64(0, 2), null), d(4, 2, 3)));
        l.add(c("slice_step", (g, x) -> g.slice(x[0], 1, 0, 5, 2), d(2, 5)).staticOnly());
        l.add(c("slice_reverse", (g, x) -> g.slice(x[0], 1, -1, Long.MIN_VALUE, -1), d(2, 4)).staticOnly());
        l.add(c("slice_runtime_end", (g, x) -> g.slice(x[0], g.constInt64(0), g.sub(g.shape(x[0], 1), g.constInt64(2)), g.constInt64(1), null),
                d(2, 5)));
        l.add(c("unsqueeze_squeeze", (g, x) -> g.squeeze(g.mul(g.unsqueeze(x[0], 0, 2), g.scalar(2, f64)), 0), d(3, 4)));
        l.add(c("squeeze_all", (g, x) -> g.squeeze(x[0]), d(1, 3, 1)).staticOnly());
        l.add(c("expand", (g, x) -> g.expand(x[0], g.constInt64(2, 3, 4)), d(3, 1)));
        l.add(c("expand_runtime", (g, x) -> g.expand(x[0], g.concat(0, g.shape(x[1], 0), g.constInt64(1, 1, 4))), d(1, 1, 1, 4), d(3)));
        l.add(c("pad", (g, x) -> g.pad(x[0], g.constInt64(0, 1, 2, 0), g.scalar(0, f64)), d(2, 3)));
        l.add(c("pad_runtime", (g, x) -> g.pad(x[0], g.concat(0, g.constInt64(0, 1, 0), g.shape(x[1], 0)), g.scalar(0, f64)), d(2, 3), d(2)));
        // a small attention block, as the models use it
        l.add(c("attention_like", (g, x) -> {
            Value q = g.matMul(x[0], x[1]);
            Value sc = g.mul(g.matMul(q, g.transpose(q, 0, 2, 1)), g.scalar(0.5, f64));
            Value p = g.softmax(g.add(sc, g.where(g.constant(TensorData.ofBools(new boolean[] {true, false, false, true, true, false, true, true, true}, 3, 3)),
                    g.scalar(0, f64), g.scalar(Double.NEGATIVE_INFINITY, f64))), -1);
            Value ms = g.reduceMean(g.mul(x[0], x[0]), true, -1);
            Value n = g.mul(x[0], g.reciprocal(g.sqrt(g.add(ms, g.scalar(1e-5, f64)))));
            return g.add(g.matMul(p, q), g.reduceSum(n, true, -1));
        }, d(2, 3, 4), d(4, 4)));
        return l;
    }

    @Test
    void everyRuleMatchesFiniteDifferences() throws Exception {
        List<String> failures = new ArrayList<>();
        int checked = 0;
        for (Case k : cases()) {
            for (boolean dyn : new boolean[] {false, true}) {
                if (dyn && !k.dynamic) continue;
                String label = k.name + (dyn ? " (symbolic dims)" : "");
                try {
                    String err = check(k, dyn);
                    if (err != null) failures.add(label + ": " + err);
                    checked++;
                } catch (Exception e) {
                    failures.add(label + ": " + e);
                }
            }
        }
        System.out.println("finite-difference checks: " + checked + " graphs, " + failures.size() + " failures");
        if (!failures.isEmpty()) fail(String.join("\n", failures));
    }

    /** @return null when every gradient element matches, else a description */
    static String check(Case k, boolean dynamic) throws Exception {
        Random rnd = new Random(k.name.hashCode());
        Graph g = Graph.create("gradcheck_" + k.name);
        Value[] xs = new Value[k.shapes.length];
        for (int i = 0; i < xs.length; i++) {
            Object[] dims = new Object[k.shapes[i].length];
            for (int j = 0; j < dims.length; j++) dims[j] = dynamic ? (Object) ("d" + i + "_" + j) : (Object) k.shapes[i][j];
            xs[i] = g.input("x" + i, DType.DOUBLE, Shape.of(dims));
        }
        Value y = k.fn.apply(g, xs);
        Value loss;
        if (y.shape().isStatic()) {
            loss = g.reduceSum(g.mul(y, constD(g, rnd, y.shape().toArray())), false);
        } else {
            loss = g.reduceSum(g.add(g.mul(y, y), y), false);
        }
        g.output("loss", loss);
        Map<Value, Value> grads = Gradients.build(g, loss, Arrays.asList(xs));
        for (int i = 0; i < xs.length; i++) g.output("grad.x" + i, grads.get(xs[i]));

        Map<String, TensorData> in = new LinkedHashMap<>();
        List<double[]> data = new ArrayList<>();
        for (int i = 0; i < xs.length; i++) {
            double[] v = new double[(int) TensorData.numElements(k.shapes[i])];
            for (int j = 0; j < v.length; j++) v[j] = k.positive ? 0.5 + rnd.nextDouble() : rnd.nextDouble() * 2 - 1;
            data.add(v);
            in.put("x" + i, TensorData.ofDoubles(v, k.shapes[i]));
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions();
             OrtSession s = env.createSession(new OnnxModel(g).toBytes(), so)) {
            Map<String, TensorData> base = OrtRunner.run(env, s, in);
            for (int i = 0; i < xs.length; i++) {
                double[] an = base.get("grad.x" + i).toDoubles();
                double[] v = data.get(i);
                if (an.length != v.length) return "grad.x" + i + " has " + an.length + " elements, input " + v.length;
                for (int j = 0; j < v.length; j++) {
                    double keep = v[j];
                    v[j] = keep + k.h;
                    in.put("x" + i, TensorData.ofDoubles(v, k.shapes[i]));
                    double lp = OrtRunner.run(env, s, in).get("loss").toDoubles()[0];
                    v[j] = keep - k.h;
                    in.put("x" + i, TensorData.ofDoubles(v, k.shapes[i]));
                    double lm = OrtRunner.run(env, s, in).get("loss").toDoubles()[0];
                    v[j] = keep;
                    in.put("x" + i, TensorData.ofDoubles(v, k.shapes[i]));
                    double num = (lp - lm) / (2 * k.h);
                    if (!(Math.abs(num - an[j]) <= k.tol * Math.max(1, Math.abs(num)))) {
                        return "d loss/d x" + i + "[" + j + "]: analytic " + an[j] + ", numeric " + num;
                    }
                }
            }
        }
        return null;
    }

    @Test
    void unsupportedOperatorFailsAtBuildTimeNamingTheNode() {
        Graph g = Graph.create("unsupported");
        Value x = g.input("x", DType.DOUBLE, 2, 3);
        Value y;
        try (Graph.Scope s = g.scope("block")) {
            y = g.reduceMax(x, false, 1);
        }
        Value loss = g.reduceSum(y, false);
        GraphBuildException e = assertThrows(GraphBuildException.class, () -> Gradients.build(g, loss, List.of(x)));
        assertTrue(e.getMessage().contains("/block/ReduceMax") && e.getMessage().contains("ReduceMax"), e.getMessage());
    }

    @Test
    void integerPathsAndUnreachedValuesNeedNoRule() throws Exception {
        Graph g = Graph.create("int_paths");
        Value x = g.input("x", DType.DOUBLE, 2, 3);
        Value unused = g.input("u", DType.DOUBLE, 4);
        // ArgMax has no rule but only feeds integer values
        Value am = g.argMax(x, 1, false);
        Value picked = g.gather(x, g.constant(TensorData.ofLongs(new long[] {1}, 1)), 1);
        Value w = g.cast(g.equal(am, g.scalarInt64(1)), DType.DOUBLE);
        Value loss = g.reduceSum(g.mul(g.squeeze(picked, 1), w), false);
        g.output("loss", loss);
        Map<Value, Value> grads = Gradients.build(g, loss, List.of(x, unused));
        g.output("gx", grads.get(x));
        g.output("gu", grads.get(unused));
        Map<String, TensorData> out = OrtRunner.run(g, Map.of(
                "x", TensorData.ofDoubles(new double[] {0, 5, 1, 9, 1, 2}, 2, 3),
                "u", TensorData.ofDoubles(new double[] {1, 2, 3, 4}, 4)));
        org.junit.jupiter.api.Assertions.assertArrayEquals(new double[] {0, 1, 0, 0, 0, 0}, out.get("gx").toDoubles());
        org.junit.jupiter.api.Assertions.assertArrayEquals(new double[4], out.get("gu").toDoubles());
    }
}
