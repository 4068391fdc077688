package org.catonnx.nn;

import org.catonnx.onnx.DType;

/**
 * How to build a model's graphs: precision, CAT attention form, where adaptive CAT resizes
 * proj_fx, and whether RMSNorm uses ONNX Runtime's fused SimplifiedLayerNormalization.
 */
public final class GraphOptions {
    public final DType precision;
    public final AttentionForm attentionForm;
    /** resize adaptive CAT's proj_fx inside the graph (training) rather than at export time (inference) */
    public final boolean resizeInGraph;
    /**
     * RMSNorm as ONNX Runtime's SimplifiedLayerNormalization (one node instead of seven; fewer
     * launches per token on GPUs). Not a standard ONNX operator: off for portable bundles, and
     * training graphs need the plain form (no gradient rule).
     */
    public final boolean fusedNorm;

    public GraphOptions(DType precision, AttentionForm attentionForm) {
        this(precision, attentionForm, false, false);
    }

    public GraphOptions(DType precision, AttentionForm attentionForm, boolean resizeInGraph, boolean fusedNorm) {
        this.precision = precision;
        this.attentionForm = attentionForm;
        this.resizeInGraph = resizeInGraph;
        this.fusedNorm = fusedNorm;
    }

    public static GraphOptions defaults() {
        return new GraphOptions(DType.FLOAT, AttentionForm.EFFICIENT);
    }

    public GraphOptions withPrecision(DType p) { return new GraphOptions(p, attentionForm, resizeInGraph, fusedNorm); }
    public GraphOptions withAttentionForm(AttentionForm f) { return new GraphOptions(precision, f, resizeInGraph, fusedNorm); }
    public GraphOptions withResizeInGraph(boolean on) { return new GraphOptions(precision, attentionForm, on, fusedNorm); }
    public GraphOptions withFusedNorm(boolean on) { return new GraphOptions(precision, attentionForm, resizeInGraph, on); }
}
