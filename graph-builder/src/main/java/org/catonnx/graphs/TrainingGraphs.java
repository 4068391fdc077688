package org.catonnx.graphs;

import org.catonnx.nn.GraphOptions;
import org.catonnx.autodiff.Gradients;
import org.catonnx.models.ModelSpec;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.GraphBuildException;
import org.catonnx.onnx.Shape;
import org.catonnx.onnx.Value;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Training graphs built from the loss graph by our own reverse-mode differentiation:
 * <ul>
 * <li>gradients: inputs input_ids, labels; outputs loss and grad.&lt;name&gt; per trainable
 *     parameter (parameters stay initializers), for verification;</li>
 * <li>training step: one AdamW step exactly as torch.optim.AdamW, with optional clipping by global
 *     norm as torch.nn.utils.clip_grad_norm_. Inputs: input_ids, labels, every parameter
 *     (&lt;name&gt;), its moments (adam.m.&lt;name&gt;, adam.v.&lt;name&gt;), step (int64 scalar: the step number
 *     t of this update, 1 for the first) and lr (float32 scalar). Outputs: loss, grad_norm (global
 *     L2 norm of the gradients before clipping), new.&lt;name&gt;, new.adam.m.&lt;name&gt;, new.adam.v.&lt;name&gt;.</li>
 * </ul>
 */
public final class TrainingGraphs {
    public static final String GRAD_PREFIX = "grad.";
    public static final String NEW_PREFIX = "new.";
    public static final String M_PREFIX = "adam.m.";
    public static final String V_PREFIX = "adam.v.";
    public static final String STEP = "step";
    public static final String LR = "lr";
    public static final String GRAD_NORM = "grad_norm";

    private TrainingGraphs() {}

    /** AdamW hyper-parameters (learning rate and step are graph inputs). */
    public static final class AdamW {
        public final double beta1;
        public final double beta2;
        public final double eps;
        public final double weightDecay;
        /** clip gradients to this global L2 norm; 0 or less: no clipping */
        public final double maxGradNorm;
        /** parameters that get weight decay (by name); others only the Adam update */
        public final Predicate<String> decays;

        public AdamW(double beta1, double beta2, double eps, double weightDecay, double maxGradNorm, Predicate<String> decays) {
            this.beta1 = beta1;
            this.beta2 = beta2;
            this.eps = eps;
            this.weightDecay = weightDecay;
            this.maxGradNorm = maxGradNorm;
            this.decays = decays;
        }

        /** torch.optim.AdamW defaults: betas (0.9, 0.999), eps 1e-8, weight_decay 0.01; no clipping. */
        public static AdamW defaults() {
            return new AdamW(0.9, 0.999, 1e-8, 0.01, 0, n -> true);
        }

        public AdamW withBetas(double b1, double b2) { return new AdamW(b1, b2, eps, weightDecay, maxGradNorm, decays); }
        public AdamW withEps(double e) { return new AdamW(beta1, beta2, e, weightDecay, maxGradNorm, decays); }
        public AdamW withWeightDecay(double wd) { return new AdamW(beta1, beta2, eps, wd, maxGradNorm, decays); }
        public AdamW withMaxGradNorm(double m) { return new AdamW(beta1, beta2, eps, weightDecay, m, decays); }
        public AdamW withDecays(Predicate<String> p) { return new AdamW(beta1, beta2, eps, weightDecay, maxGradNorm, p); }
    }

    // ---------------------------------------------------------------- gradients graph

    public static Graph gradients(ModelSpec spec, WeightSource weights, int chunk, GraphOptions o) {
        return addGradients(ForwardGraphs.loss(spec, weights, chunk, o));
    }

    /** Adds grad.&lt;name&gt; outputs for every trainable parameter of a graph with a "loss" output. */
    public static Graph addGradients(Graph lossGraph) {
        Map<String, Value> grads = parameterGradients(lossGraph);
        for (Map.Entry<String, Value> e : grads.entrySet()) lossGraph.output(GRAD_PREFIX + e.getKey(), e.getValue());
        return lossGraph;
    }

    /** Trainable parameter names of a graph, in registration order. */
    public static List<String> parameterNames(Graph g) {
        List<String> l = new ArrayList<>();
        for (Graph.Initializer i : g.initializers().values()) if (i.trainable) l.add(i.value.name());
        return l;
    }

    static Value lossOf(Graph g) {
        for (Value v : g.outputs()) if (v.name().equals(ForwardGraphs.LOSS)) return v;
        throw new GraphBuildException("graph " + g.name() + " has no '" + ForwardGraphs.LOSS + "' output");
    }

    /** d loss / d parameter for every trainable initializer, by parameter name. */
    static Map<String, Value> parameterGradients(Graph g) {
        Value loss = lossOf(g);
        List<Value> params = new ArrayList<>();
        for (Graph.Initializer i : g.initializers().values()) if (i.trainable) params.add(i.value);
        if (params.isEmpty()) throw new GraphBuildException("graph " + g.name() + " has no trainable parameters");
        Map<Value, Value> grads = Gradients.build(g, loss, params);
        Map<String, Value> out = new LinkedHashMap<>();
        for (Value p : params) out.put(p.name(), grads.get(p));
        return out;
    }

    // ---------------------------------------------------------------- training step

    public static Graph trainingStep(ModelSpec spec, WeightSource weights, int chunk, GraphOptions o, AdamW opt) {
        return addTrainingStep(ForwardGraphs.loss(spec, weights, chunk, o), opt);
    }

    /** Turns a loss graph into one AdamW training step (see the class comment for inputs and outputs). */
    public static Graph addTrainingStep(Graph g, AdamW opt) {
        Map<String, Value> grads = parameterGradients(g);
        Map<String, Value> params = new LinkedHashMap<>();
        for (String name : grads.keySet()) params.put(name, g.initializers().get(name).value);
        // parameters become inputs, fed (and returned updated) by the training loop
        for (String name : grads.keySet()) g.initializerToInput(name);
        Map<String, Value> ms = new LinkedHashMap<>(), vs = new LinkedHashMap<>();
        for (Map.Entry<String, Value> e : params.entrySet()) {
            Value p = e.getValue();
            DType acc = accumulation(p.type());
            ms.put(e.getKey(), g.input(M_PREFIX + e.getKey(), acc, p.shape()));
            vs.put(e.getKey(), g.input(V_PREFIX + e.getKey(), acc, p.shape()));
        }
        Value step = g.input(STEP, DType.INT64, Shape.scalar());
        Value lr = g.input(LR, DType.FLOAT, Shape.scalar());

        try (Graph.Scope s = g.scope("adamw")) {
            // scalars as torch computes them: Python floats (double)
            Value t = g.cast(step, DType.DOUBLE);
            Value lrD = g.cast(lr, DType.DOUBLE);
            Value one = g.scalar(1, DType.DOUBLE);
            Value bc1 = g.sub(one, g.pow(g.scalar(opt.beta1, DType.DOUBLE), t));
            Value bc2 = g.sub(one, g.pow(g.scalar(opt.beta2, DType.DOUBLE), t));
            Value stepSizeD = g.div(lrD, bc1);
            Value bc2SqrtD = g.sqrt(bc2);
            Value decayD = g.sub(one, g.mul(lrD, g.scalar(opt.weightDecay, DType.DOUBLE)));

            // global gradient norm (float32), and the clipping factor
            Value sumSq = null;
            for (Value gr : grads.values()) {
                Value q = g.reduceSumSquare(g.cast(gr, accumulation(gr.type())), false);
                if (q.type() != DType.FLOAT && q.type() != DType.DOUBLE) q = g.cast(q, DType.FLOAT);
                if (sumSq != null && sumSq.type() != q.type()) q = g.cast(q, sumSq.type());
                sumSq = sumSq == null ? q : g.add(sumSq, q);
            }
            Value norm = g.sqrt(sumSq);
            g.output(GRAD_NORM, g.cast(norm, DType.FLOAT));
            Value clip = null;
            if (opt.maxGradNorm > 0) {
                DType nt = norm.type();
                Value coef = g.div(g.scalar(opt.maxGradNorm, nt), g.add(norm, g.scalar(1e-6, nt)));
                clip = g.min(coef, g.scalar(1, nt));
            }

            Map<String, Value[]> updated = new LinkedHashMap<>();
            for (Map.Entry<String, Value> e : params.entrySet()) {
                String name = e.getKey();
                Value p = e.getValue();
                DType acc = accumulation(p.type());
                Value gr = g.cast(grads.get(name), acc);
                if (clip != null) gr = g.mul(gr, g.cast(clip, acc));
                Value m = ms.get(name), v = vs.get(name);
                // exp_avg.lerp_(grad, 1 - beta1); exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
                Value m2 = g.add(m, g.mul(g.sub(gr, m), g.scalar(1 - opt.beta1, acc)));
                Value v2 = g.add(g.mul(v, g.scalar(opt.beta2, acc)), g.mul(g.mul(gr, gr), g.scalar(1 - opt.beta2, acc)));
                // param.mul_(1 - lr * wd); denom = sqrt(v) / sqrt(bc2) + eps; param.addcdiv_(m, denom, -lr / bc1)
                Value pa = g.cast(p, acc);
                if (opt.weightDecay != 0 && opt.decays.test(name)) pa = g.mul(pa, g.cast(decayD, acc));
                Value denom = g.add(g.div(g.sqrt(v2), g.cast(bc2SqrtD, acc)), g.scalar(opt.eps, acc));
                Value p2 = g.sub(pa, g.mul(g.cast(stepSizeD, acc), g.div(m2, denom)));
                updated.put(name, new Value[] {g.cast(p2, p.type()), m2, v2});
            }
            for (Map.Entry<String, Value[]> e : updated.entrySet()) g.output(NEW_PREFIX + e.getKey(), e.getValue()[0]);
            for (Map.Entry<String, Value[]> e : updated.entrySet()) g.output(NEW_PREFIX + M_PREFIX + e.getKey(), e.getValue()[1]);
            for (Map.Entry<String, Value[]> e : updated.entrySet()) g.output(NEW_PREFIX + V_PREFIX + e.getKey(), e.getValue()[2]);
        }
        return g;
    }

    /** Optimizer state and update arithmetic: float64 for float64 parameters, else float32. */
    static DType accumulation(DType t) {
        return t == DType.DOUBLE ? DType.DOUBLE : DType.FLOAT;
    }
}
