package org.catonnx.graphs;

import org.catonnx.nn.AttentionForm;
import org.catonnx.onnx.DType;

/** How to build a model's graphs: precision, CAT attention form, and where adaptive CAT resizes proj_fx. */
public final class GraphOptions {
    public final DType precision;
    public final AttentionForm attentionForm;
    /** resize adaptive CAT's proj_fx inside the graph (training) rather than at export time (inference) */
    public final boolean resizeInGraph;

    public GraphOptions(DType precision, AttentionForm attentionForm) {
        this(precision, attentionForm, false);
    }

    public GraphOptions(DType precision, AttentionForm attentionForm, boolean resizeInGraph) {
        this.precision = precision;
        this.attentionForm = attentionForm;
        this.resizeInGraph = resizeInGraph;
    }

    public static GraphOptions defaults() {
        return new GraphOptions(DType.FLOAT, AttentionForm.EFFICIENT);
    }

    public GraphOptions withPrecision(DType p) { return new GraphOptions(p, attentionForm, resizeInGraph); }
    public GraphOptions withAttentionForm(AttentionForm f) { return new GraphOptions(precision, f, resizeInGraph); }
    public GraphOptions withResizeInGraph(boolean on) { return new GraphOptions(precision, attentionForm, on); }
}
