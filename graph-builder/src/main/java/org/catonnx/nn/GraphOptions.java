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
    /**
     * In-graph generation loops decode with ONNX Runtime's GroupQueryAttention and RotaryEmbedding
     * over fixed-size cache buffers: ~20 nodes per layer and token instead of ~90, and no cache
     * that grows every step. ONNX Runtime only (com.microsoft domain); its CUDA kernels take
     * float16/bfloat16, its CPU kernels float32/float16.
     */
    public final boolean fusedDecode;

    public GraphOptions(DType precision, AttentionForm attentionForm) {
        this(precision, attentionForm, false, false, false);
    }

    public GraphOptions(DType precision, AttentionForm attentionForm, boolean resizeInGraph, boolean fusedNorm) {
        this(precision, attentionForm, resizeInGraph, fusedNorm, false);
    }

    public GraphOptions(DType precision, AttentionForm attentionForm, boolean resizeInGraph, boolean fusedNorm, boolean fusedDecode) {
        this.precision = precision;
        this.attentionForm = attentionForm;
        this.resizeInGraph = resizeInGraph;
        this.fusedNorm = fusedNorm;
        this.fusedDecode = fusedDecode;
    }

    public static GraphOptions defaults() {
        return new GraphOptions(DType.FLOAT, AttentionForm.EFFICIENT);
    }

    public GraphOptions withPrecision(DType p) { return new GraphOptions(p, attentionForm, resizeInGraph, fusedNorm, fusedDecode); }
    public GraphOptions withAttentionForm(AttentionForm f) { return new GraphOptions(precision, f, resizeInGraph, fusedNorm, fusedDecode); }
    public GraphOptions withResizeInGraph(boolean on) { return new GraphOptions(precision, attentionForm, on, fusedNorm, fusedDecode); }
    public GraphOptions withFusedNorm(boolean on) { return new GraphOptions(precision, attentionForm, resizeInGraph, on, fusedDecode); }
    public GraphOptions withFusedDecode(boolean on) { return new GraphOptions(precision, attentionForm, resizeInGraph, fusedNorm, on); }
}
