package org.catonnx.nn;

import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.TensorData;
import org.catonnx.onnx.Value;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Everything a building block needs: the graph, where weights come from, the activation
 * precision and the attention form. Parameters are registered once per name and cast to
 * the precision (RMSNorm weights stay float32, as the reference computes norms in float32).
 */
public final class BuildContext {
    public final Graph g;
    public final WeightSource weights;
    /** activation and weight precision: FLOAT, FLOAT16 or BFLOAT16 (DOUBLE for gradient checks) */
    public final DType dtype;
    public final AttentionForm attentionForm;
    public final GraphOptions options;
    private final Map<String, Value> params;

    public BuildContext(Graph g, WeightSource weights, DType dtype, AttentionForm attentionForm) {
        this(g, weights, new GraphOptions(dtype, attentionForm));
    }

    public BuildContext(Graph g, WeightSource weights, GraphOptions options) {
        this(g, weights, options, new HashMap<>());
    }

    private BuildContext(Graph g, WeightSource weights, GraphOptions options, Map<String, Value> params) {
        if (!options.precision.isFloating()) throw new IllegalArgumentException("precision must be floating point, got " + options.precision);
        this.g = g;
        this.weights = weights;
        this.options = options;
        this.dtype = options.precision;
        this.attentionForm = options.attentionForm;
        this.params = params;
    }

    /** The same model context building into a subgraph (Loop body, If branch); parameters are shared. */
    public BuildContext in(Graph subgraph) {
        return new BuildContext(subgraph, weights, options, params);
    }

    /** The float type used for norms, softmax and the loss: float32, or float64 in float64 graphs. */
    public DType accumulate() {
        return dtype == DType.DOUBLE ? DType.DOUBLE : DType.FLOAT;
    }

    /** A trainable parameter in the model precision, checked against the expected shape. */
    public Value param(String name, long... shape) {
        return param(name, dtype, shape);
    }

    /** A trainable parameter kept in the accumulation precision (RMSNorm weights). */
    public Value normParam(String name, long... shape) {
        return param(name, accumulate(), shape);
    }

    private Value param(String name, DType type, long... shape) {
        Value v = params.get(name);
        if (v != null) return v;
        TensorData t = weights.tensor(name, shape);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException("tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                    + ", the model needs " + Arrays.toString(shape));
        }
        if (!t.type().isFloating()) throw new IllegalArgumentException("tensor '" + name + "' is " + t.type() + ", expected floating point");
        v = g.parameter(name, t.castTo(type));
        params.put(name, v);
        return v;
    }

    /** A derived, non-trainable weight computed at export time (e.g. a resized proj_fx). */
    public Value derived(String name, TensorData data) {
        Value v = params.get(name);
        if (v != null) return v;
        v = g.initializer(name, data.castTo(dtype), false);
        params.put(name, v);
        return v;
    }

    public Value scalar(double v) {
        return g.scalar(v, dtype);
    }

    public Value scalarAcc(double v) {
        return g.scalar(v, accumulate());
    }
}
