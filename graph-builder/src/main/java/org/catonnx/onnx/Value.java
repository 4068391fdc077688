package org.catonnx.onnx;

/**
 * A reference to a tensor value in a graph: its name, element type and (partly symbolic)
 * shape. Small int64 constants also carry their contents so shape rules can read them
 * (e.g. the target of a Reshape). Arithmetic helpers delegate to the owning graph.
 */
public final class Value {
    private final Graph graph;
    private final String name;
    private final DType type;
    private final Shape shape;
    private final TensorData constant;

    Value(Graph graph, String name, DType type, Shape shape, TensorData constant) {
        this.graph = graph;
        this.name = name;
        this.type = type;
        this.shape = shape;
        this.constant = constant;
    }

    public Graph graph() { return graph; }
    public String name() { return name; }
    public DType type() { return type; }
    public Shape shape() { return shape; }
    public int rank() { return shape.rank(); }
    public Dim dim(int i) { return shape.dim(i); }

    /** Contents when this value is a known constant, else null. */
    public TensorData constant() { return constant; }

    public Value add(Value o) { return graph.add(this, o); }
    public Value sub(Value o) { return graph.sub(this, o); }
    public Value mul(Value o) { return graph.mul(this, o); }
    public Value div(Value o) { return graph.div(this, o); }
    public Value matMul(Value o) { return graph.matMul(this, o); }
    public Value cast(DType t) { return graph.cast(this, t); }
    public Value reshape(long... shape) { return graph.reshape(this, shape); }
    public Value transpose(long... perm) { return graph.transpose(this, perm); }

    @Override
    public String toString() {
        return name + ":" + type + shape;
    }
}
