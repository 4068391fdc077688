package org.catonnx.graphs;

import org.catonnx.nn.AttentionForm;
import org.catonnx.nn.BuildContext;
import org.catonnx.nn.CatAttention;
import org.catonnx.nn.CausalAttention;
import org.catonnx.nn.GraphOptions;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Shape;
import org.catonnx.onnx.Value;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Graphs that time one attention operator alone: the only input is a repetition count R, the
 * output a float32 checksum. ONNX Runtime's Java API copies every input and output through host
 * memory, so q, k and v are generated inside the graph (deterministic values in [-1, 1] from
 * ops that run on the GPU) and the attention runs R times inside an ONNX Loop whose body reads
 * them from the outer scope. The body's result is the loop-carried value, so no iteration is
 * dead code; the time of two runs with different R, differenced, is the time of R calls.
 */
public final class AttentionBenchGraphs {
    /** int64 scalar: how many times the Loop runs the attention. */
    public static final String REPS = "reps";
    /** float32 scalar: the sum of each head's last element of the last attention result (with the output: of all of it). */
    public static final String CHECKSUM = "checksum";
    /** int64 scalar: iterations the Loop ran (to check that it really repeats). */
    public static final String ITERATIONS = "iterations";
    /** float32 [B, H, positions, hd]: the last attention result itself, only when asked for (tests). */
    public static final String OUTPUT = "y";
    /** Node names of the repeated attention start with "/" + this + "/". */
    public static final String ATTENTION_SCOPE = "attention";

    private AttentionBenchGraphs() {}

    /** What runs in the Loop body. */
    public enum Form {
        /** CAT attention as our CatAttention custom operator (needs the native library) */
        CUSTOM("custom", AttentionForm.CUSTOM),
        /** CAT attention from portable per-block ops */
        EFFICIENT("efficient", AttentionForm.EFFICIENT),
        /** CAT attention from portable ops with an N x N mask */
        MASKED("masked", AttentionForm.MASKED),
        /** standard causal attention over the L tokens: the dense baseline's attention */
        DENSE("dense", null),
        /** nothing: the Loop's own per-iteration overhead, included in every other form's time */
        EMPTY("empty", null);

        public final String id;
        /** the CAT attention form, null for the non-CAT forms */
        public final AttentionForm catForm;

        Form(String id, AttentionForm catForm) {
            this.id = id;
            this.catForm = catForm;
        }

        public boolean isCat() {
            return catForm != null;
        }

        public static Form parse(String s) {
            String t = s.trim().toLowerCase(Locale.ROOT);
            for (Form f : values()) if (f.id.equals(t)) return f;
            throw new IllegalArgumentException("unknown attention form '" + s + "' (allowed: custom, efficient, masked, dense, empty)");
        }

        @Override
        public String toString() {
            return id;
        }
    }

    /**
     * One attention problem: L tokens; the CAT forms see them as L/chunk blocks of S = chunk+1
     * positions (the block's first position is the previous chunk's compressed vector), N = K1*S
     * positions in all; the dense form sees the L tokens. chunk is ignored by the non-CAT forms.
     */
    public record Problem(int batch, int heads, int kvHeads, int length, int chunk, int headDim) {
        public Problem {
            if (batch < 1 || heads < 1 || kvHeads < 1 || length < 1 || headDim < 1 || chunk < 0) {
                throw new IllegalArgumentException("attention problem sizes must be positive: " + this);
            }
            if (heads % kvHeads != 0) throw new IllegalArgumentException("kv heads " + kvHeads + " must divide heads " + heads);
            if (chunk > 0 && length % chunk != 0) {
                throw new IllegalArgumentException("length " + length + " is not a multiple of chunk " + chunk);
            }
        }

        /** K1, the number of CAT blocks. */
        public int blocks() {
            return length / chunk;
        }

        /** S = chunk + 1 positions per CAT block. */
        public int blockLen() {
            return chunk + 1;
        }

        /** Positions the form attends over: N = K1*S for CAT, L otherwise. */
        public long positions(Form f) {
            if (!f.isCat()) return length;
            if (chunk == 0) throw new IllegalArgumentException(f + " attention needs a chunk size");
            return (long) blocks() * blockLen();
        }

        @Override
        public String toString() {
            return "L " + length + (chunk > 0 ? " chunk " + chunk : "") + " batch " + batch + " heads " + heads
                    + (kvHeads != heads ? "/" + kvHeads : "") + " hd " + headDim;
        }
    }

    /**
     * The benchmark graph of one form. With {@code withOutput} the last attention result is also
     * an output ({@value #OUTPUT}, float32), for comparing forms; benchmarks leave it off.
     */
    public static Graph build(Problem p, Form form, DType precision, boolean withOutput) {
        Graph g = Graph.create("attention_bench_" + form.id);
        BuildContext c = new BuildContext(g, WeightSource.of(Map.of()),
                new GraphOptions(precision, form.isCat() ? form.catForm : AttentionForm.EFFICIENT));
        Value reps = g.input(REPS, DType.INT64, Shape.scalar());
        // 0, but computed from the input: without it every generated value would be a constant that
        // ONNX Runtime folds at session creation (on the CPU), and the attention with it
        Value zero = g.mul(g.cast(reps, DType.FLOAT), g.scalar(0, DType.FLOAT));
        long n = p.positions(form);
        Value q, k, v;
        try (Graph.Scope sc = g.scope("inputs")) {
            q = values(c, p.batch, p.heads, n, p.headDim, 1, zero);
            k = values(c, p.batch, p.kvHeads, n, p.headDim, 2, zero);
            v = values(c, p.batch, p.kvHeads, n, p.headDim, 3, zero);
            if (form.isCat()) {
                q = blocked(g, q, p);
                k = blocked(g, k, p);
                v = blocked(g, v, p);
            }
        }
        Value[] out;
        if (form == Form.EMPTY) {
            out = g.loop(reps, g.scalarBool(true), List.of(g.scalarInt64(0)), null,
                    (body, iter, in) -> List.of(body.scalarBool(true), body.add(in.get(0), body.scalarInt64(1))));
            out = new Value[] {q, out[0]};
        } else {
            Value qq = q, kk = k, vv = v;
            // carried: a checksum of the last result (or, for tests, the result itself, starting as
            // q, which has its shape) and an iteration counter. Carrying a whole [B,H,N,hd] tensor
            // made the custom op 9-13x slower per iteration on the CUDA provider (about PCIe speed
            // for its bytes), so benchmarks carry a scalar: the sum of each head's last element.
            // A Cast and ReduceSum over all of y cost as much again as the custom op's own traffic
            // (y is a quarter of it; its float32 copy is written and read), 2x its time at L 2048.
            Value init = withOutput ? q : g.scalar(0, DType.FLOAT);
            out = g.loop(reps, g.scalarBool(true), List.of(init, g.scalarInt64(0)), null, (body, iter, in) -> {
                Value y;
                try (Graph.Scope sc = body.scope(ATTENTION_SCOPE)) {
                    BuildContext bc = c.in(body);
                    y = form.isCat() ? new CatAttention(form.catForm).attend(bc, qq, kk, vv)
                            : new CausalAttention().attend(bc, qq, kk, vv);
                }
                Value carried = withOutput ? y : body.reduceSum(body.cast(lastOfEachHead(body, y, p), DType.FLOAT), false);
                return List.of(body.scalarBool(true), carried, body.add(in.get(1), body.scalarInt64(1)));
            });
        }
        Value y = g.cast(out[0], DType.FLOAT);
        g.output(CHECKSUM, y.rank() == 0 ? y : g.reduceSum(y, false));
        g.output(ITERATIONS, out[1]);
        if (withOutput) g.output(OUTPUT, g.reshape(y, p.batch, p.heads, n, p.headDim));
        return g;
    }

    /**
     * [B*heads, 1]: the last element of each head's result, which a graph computes only with all of
     * it (ONNX Runtime runs every node whole); the reshape of y is an alias, the slice B*heads copies.
     */
    private static Value lastOfEachHead(Graph g, Value y, Problem p) {
        Value rows = g.reshape(y, (long) p.batch * p.heads, -1);
        return g.slice(rows, 1, -1, Long.MAX_VALUE);
    }

    /**
     * [B, heads, n, hd] in the precision: sin(i * f_d + phase_{b,h}) with pseudo-random
     * frequencies f_d in [0.1, 1.9] and phases, i the position. A value depends on (b, h, i, d)
     * and the seed only, not on n, so a longer problem starts with a shorter one's values.
     * The small factors fold to constants; the [B*heads, n, hd] sum and Sin run per graph run.
     */
    private static Value values(BuildContext c, long batch, long heads, long n, long hd, int seed, Value zero) {
        Graph g = c.g;
        Value pos = g.unsqueeze(floats(g, n), 1);                                                       // [n, 1]
        Value freq = g.add(g.mul(wave(g, hd, 12.9898, seed), real(g, 0.9)), real(g, 1.0));              // [hd]
        Value phase = g.add(g.unsqueeze(g.mul(wave(g, batch * heads, 78.233, 3.0 * seed), real(g, Math.PI)), 1, 2), zero);
        Value x = g.sin(g.add(g.mul(pos, freq), phase));                                                // [B*heads, n, hd]
        return g.cast(g.reshape(x, batch, heads, n, hd), c.dtype);
    }

    /** sin(i * step + offset) for i = 0..n-1: a pseudo-random sequence in [-1, 1] for a large step. */
    private static Value wave(Graph g, long n, double step, double offset) {
        return g.sin(g.add(g.mul(floats(g, n), real(g, step)), real(g, offset)));
    }

    /** [B, H, K1*S, hd] -> the CAT layout [B, H, K1, S, hd]. */
    private static Value blocked(Graph g, Value x, Problem p) {
        return g.reshape(x, 0, 0, p.blocks(), p.blockLen(), p.headDim);
    }

    /** 0, 1, ..., n-1 as float32. */
    private static Value floats(Graph g, long n) {
        return g.cast(g.range(g.scalarInt64(0), g.scalarInt64(n), g.scalarInt64(1)), DType.FLOAT);
    }

    private static Value real(Graph g, double v) {
        return g.scalar(v, DType.FLOAT);
    }
}
