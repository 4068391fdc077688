package org.catonnx.nn;

import org.catonnx.onnx.Value;

/** nn.Linear: y = x W^T (+ b); the weight keeps the reference's [out, in] layout. */
public final class Linear {
    private final BuildContext c;
    private final String name;
    private final int in;
    private final int out;
    private final boolean bias;

    public Linear(BuildContext c, String name, int in, int out, boolean bias) {
        this.c = c;
        this.name = name;
        this.in = in;
        this.out = out;
        this.bias = bias;
    }

    /** The weight [out, in] as a graph value. */
    public Value weight() { return c.param(name + ".weight", out, in); }

    public Value forward(Value x) {
        Value y = c.g.matMul(x, c.g.transpose(weight(), 1, 0));
        return bias ? c.g.add(y, c.param(name + ".bias", out)) : y;
    }
}
