package org.catonnx.nn;

import org.catonnx.onnx.Value;

/** nn.Embedding: rows of the table, gathered by index. */
public final class Embedding {
    private final BuildContext c;
    private final String name;
    private final int rows;
    private final int dim;

    public Embedding(BuildContext c, String name, int rows, int dim) {
        this.c = c;
        this.name = name;
        this.rows = rows;
        this.dim = dim;
    }

    public Value weight() {
        return c.param(name + ".weight", rows, dim);
    }

    public Value forward(Value ids) {
        return c.g.gather(weight(), ids, 0);
    }

    /** One row (a constant index) with shape [dim]. */
    public Value row(long index) {
        return c.g.gather(weight(), c.g.constant(org.catonnx.onnx.TensorData.ofLongs(new long[] {index})), 0);
    }
}
