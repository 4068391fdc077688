package org.catonnx.graphs;

import org.catonnx.nn.AttentionForm;
import org.catonnx.onnx.DType;

/** How to build a model's graphs: precision and CAT attention form. */
public final class GraphOptions {
    public final DType precision;
    public final AttentionForm attentionForm;

    public GraphOptions(DType precision, AttentionForm attentionForm) {
        this.precision = precision;
        this.attentionForm = attentionForm;
    }

    public static GraphOptions defaults() {
        return new GraphOptions(DType.FLOAT, AttentionForm.EFFICIENT);
    }

    public GraphOptions withPrecision(DType p) { return new GraphOptions(p, attentionForm); }
    public GraphOptions withAttentionForm(AttentionForm f) { return new GraphOptions(precision, f); }
}
