package org.catonnx.nn;

import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Value;

/** RMSNorm over the last axis, computed in float32 like the reference: x * rsqrt(mean(x^2) + eps) * w. */
public final class RmsNorm {
    private final BuildContext c;
    private final String name;
    private final int size;
    private final double eps;

    public RmsNorm(BuildContext c, String name, int size, double eps) {
        this.c = c;
        this.name = name;
        this.size = size;
        this.eps = eps;
    }

    public Value forward(Value x) {
        Graph g = c.g;
        try (Graph.Scope s = g.scope(name.substring(name.lastIndexOf('.') + 1))) {
            if (c.options.fusedNorm && x.type().bytes == 2) {
                // 16-bit in and out, float32 inside, weight in the model precision: ONNX Runtime's
                // (T, float, T) kernels, and what the reference computes for a bf16 model
                // (x.float() ... * weight.float(), the weight itself bf16). No Cast nodes.
                return g.simplifiedLayerNorm(x, c.param(name + ".weight", size), (float) eps);
            }
            Value xf = g.cast(x, c.accumulate());
            if (c.options.fusedNorm) {
                return g.cast(g.simplifiedLayerNorm(xf, c.normParam(name + ".weight", size), (float) eps), x.type());
            }
            Value ms = g.reduceMean(g.mul(xf, xf), true, -1);
            Value inv = g.reciprocal(g.sqrt(g.add(ms, c.scalarAcc(eps))));
            Value y = g.mul(g.mul(xf, inv), c.normParam(name + ".weight", size));
            return g.cast(y, x.type());
        }
    }

    /**
     * {norm(x + residual), x + residual}: a residual add folded into this norm. With the fused norm
     * one SkipSimplifiedLayerNormalization (its weight in x's type, float32 inside); otherwise an Add
     * and {@link #forward}.
     */
    public Value[] forwardSkip(Value x, Value residual) {
        Graph g = c.g;
        boolean rank23 = x.shape().hasRank() && (x.rank() == 2 || x.rank() == 3);   // what ONNX Runtime's kernels take
        if (!c.options.fusedNorm || !rank23 || (x.type().bytes != 2 && x.type() != c.accumulate())) {
            Value sum = g.add(residual, x);
            return new Value[] {forward(sum), sum};
        }
        try (Graph.Scope s = g.scope(name.substring(name.lastIndexOf('.') + 1))) {
            Value w = x.type().bytes == 2 ? c.param(name + ".weight", size) : c.normParam(name + ".weight", size);
            return g.skipSimplifiedLayerNorm(x, residual, w, (float) eps);
        }
    }
}
