package org.catonnx.onnx;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Every operator the builder can emit, declared once: ONNX type and domain, input arity,
 * output count (-1: set per node), inputs below the minimum that may still be omitted, and the
 * attributes it accepts. Shape and type rules live in {@link ShapeInference}.
 */
public enum Op {
    // elementwise binary (numpy broadcasting)
    ADD("Add", 2, 2, 1), SUB("Sub", 2, 2, 1), MUL("Mul", 2, 2, 1), DIV("Div", 2, 2, 1),
    POW("Pow", 2, 2, 1), MAX("Max", 1, 8, 1), MIN("Min", 1, 8, 1), MOD("Mod", 2, 2, 1, "fmod", AttrType.INT),
    EQUAL("Equal", 2, 2, 1), LESS("Less", 2, 2, 1), LESS_OR_EQUAL("LessOrEqual", 2, 2, 1),
    GREATER("Greater", 2, 2, 1), GREATER_OR_EQUAL("GreaterOrEqual", 2, 2, 1),
    AND("And", 2, 2, 1), OR("Or", 2, 2, 1),
    WHERE("Where", 3, 3, 1),
    // elementwise unary
    SQRT("Sqrt", 1, 1, 1), RECIPROCAL("Reciprocal", 1, 1, 1), EXP("Exp", 1, 1, 1), LOG("Log", 1, 1, 1),
    SIGMOID("Sigmoid", 1, 1, 1), NEG("Neg", 1, 1, 1), ABS("Abs", 1, 1, 1), TANH("Tanh", 1, 1, 1),
    COS("Cos", 1, 1, 1), SIN("Sin", 1, 1, 1), FLOOR("Floor", 1, 1, 1), CEIL("Ceil", 1, 1, 1), NOT("Not", 1, 1, 1),
    IDENTITY("Identity", 1, 1, 1),
    CLIP("Clip", 1, 3, 1),
    CAST("Cast", 1, 1, 1, "to", AttrType.INT, "saturate", AttrType.INT),
    // linear algebra
    MATMUL("MatMul", 2, 2, 1),
    GEMM("Gemm", 2, 3, 1, "alpha", AttrType.FLOAT, "beta", AttrType.FLOAT, "transA", AttrType.INT, "transB", AttrType.INT),
    // reductions (opset 18+: axes are an input)
    REDUCE_MEAN("ReduceMean", 1, 2, 1, "keepdims", AttrType.INT, "noop_with_empty_axes", AttrType.INT),
    REDUCE_SUM("ReduceSum", 1, 2, 1, "keepdims", AttrType.INT, "noop_with_empty_axes", AttrType.INT),
    REDUCE_MAX("ReduceMax", 1, 2, 1, "keepdims", AttrType.INT, "noop_with_empty_axes", AttrType.INT),
    REDUCE_SUM_SQUARE("ReduceSumSquare", 1, 2, 1, "keepdims", AttrType.INT, "noop_with_empty_axes", AttrType.INT),
    SOFTMAX("Softmax", 1, 1, 1, "axis", AttrType.INT),
    /** ONNX Runtime's fused RMSNorm (registered in the default domain by ONNX Runtime, not by the ONNX standard) */
    SIMPLIFIED_LAYER_NORM("SimplifiedLayerNormalization", 2, 2, 1, "axis", AttrType.INT, "epsilon", AttrType.FLOAT, "stash_type", AttrType.INT),
    /** com.microsoft: input, skip, gamma -> output, mean, inv_std_var, input_skip_bias_sum (1 and 2 left out) */
    SKIP_SIMPLIFIED_LAYER_NORM("SkipSimplifiedLayerNormalization", 3, 3, 4, Domains.MS, "epsilon", AttrType.FLOAT),
    LOG_SOFTMAX("LogSoftmax", 1, 1, 1, "axis", AttrType.INT),
    ARG_MAX("ArgMax", 1, 1, 1, "axis", AttrType.INT, "keepdims", AttrType.INT, "select_last_index", AttrType.INT),
    TOP_K("TopK", 2, 2, 2, "axis", AttrType.INT, "largest", AttrType.INT, "sorted", AttrType.INT),
    CUM_SUM("CumSum", 2, 2, 1, "exclusive", AttrType.INT, "reverse", AttrType.INT),
    // indexing
    GATHER("Gather", 2, 2, 1, "axis", AttrType.INT),
    GATHER_ELEMENTS("GatherElements", 2, 2, 1, "axis", AttrType.INT),
    SCATTER_ELEMENTS("ScatterElements", 3, 3, 1, "axis", AttrType.INT, "reduction", AttrType.STRING),
    SCATTER_ND("ScatterND", 3, 3, 1, "reduction", AttrType.STRING),
    TRILU("Trilu", 1, 2, 1, "upper", AttrType.INT),
    // shape manipulation
    RESHAPE("Reshape", 2, 2, 1, "allowzero", AttrType.INT),
    TRANSPOSE("Transpose", 1, 1, 1, "perm", AttrType.INTS),
    CONCAT("Concat", 1, 1024, 1, "axis", AttrType.INT),
    SPLIT("Split", 1, 2, -1, "axis", AttrType.INT, "num_outputs", AttrType.INT),
    SLICE("Slice", 3, 5, 1),
    UNSQUEEZE("Unsqueeze", 2, 2, 1),
    SQUEEZE("Squeeze", 1, 2, 1),
    EXPAND("Expand", 2, 2, 1),
    PAD("Pad", 2, 4, 1, "mode", AttrType.STRING),
    SHAPE("Shape", 1, 1, 1, "start", AttrType.INT, "end", AttrType.INT),
    SIZE("Size", 1, 1, 1),
    RANGE("Range", 3, 3, 1),
    CONSTANT_OF_SHAPE("ConstantOfShape", 1, 1, 1, "value", AttrType.TENSOR),
    // randomness (sampling)
    RANDOM_UNIFORM_LIKE("RandomUniformLike", 1, 1, 1, "dtype", AttrType.INT, "high", AttrType.FLOAT, "low", AttrType.FLOAT, "seed", AttrType.FLOAT),
    // control flow
    LOOP("Loop", 2, 1024, -1, "body", AttrType.GRAPH),
    IF("If", 1, 1, -1, "then_branch", AttrType.GRAPH, "else_branch", AttrType.GRAPH),
    // our own domain: CAT attention with the block-diagonal + compressed-prefix mask
    CAT_ATTENTION("CatAttention", 3, 3, 1, Domains.CAT, "block_len", AttrType.INT, "scale", AttrType.FLOAT),
    /**
     * one decode position against a fixed-size cache: q, k, v, past_k, past_v, seqlens (int32) [, position (int64),
     * cos_cache, sin_cache] -> y, present_k, present_v; k and v omitted: q is packed q|k|v; cos/sin: fused rotary
     */
    CAT_DECODE_ATTENTION("CatDecodeAttention", 6, 9, 3, new int[] {1, 2}, Domains.CAT, "num_heads", AttrType.INT,
            "kv_num_heads", AttrType.INT, "scale", AttrType.FLOAT),
    /** x [..., 2F] = gate | up -> silu(gate) * up [..., F] */
    SWI_GLU("SwiGlu", 1, 1, 1, Domains.CAT),
    // ONNX Runtime contrib operators for fused decode steps (query/key/value as [B, S, heads*head_dim])
    /** inputs: query, key, value, past_key, past_value, seqlens_k (int32, total-1), total_sequence_length (int32) */
    GROUP_QUERY_ATTENTION("GroupQueryAttention", 7, 7, 3, Domains.MS, "num_heads", AttrType.INT, "kv_num_heads", AttrType.INT,
            "scale", AttrType.FLOAT, "do_rotary", AttrType.INT, "local_window_size", AttrType.INT),
    /** inputs: input, position_ids (int64), cos_cache, sin_cache ([max_position, rotary_dim/2]) */
    ROTARY_EMBEDDING("RotaryEmbedding", 4, 4, 1, Domains.MS, "interleaved", AttrType.INT, "num_heads", AttrType.INT,
            "rotary_embedding_dim", AttrType.INT, "scale", AttrType.FLOAT);

    public final String onnxType;
    public final String domain;
    public final int minInputs;
    public final int maxInputs;
    /** Number of outputs, or -1 when the node decides (Split, Loop, If). */
    public final int outputs;
    private final Map<String, AttrType> attributes;
    private final int[] omissible;

    /** attrs: optionally an int[] of inputs below minInputs that may be omitted (null), then optionally a domain, then name/type pairs */
    Op(String onnxType, int minInputs, int maxInputs, int outputs, Object... attrs) {
        this.onnxType = onnxType;
        int start = 0;
        this.omissible = attrs.length > 0 && attrs[0] instanceof int[] ? (int[]) attrs[start++] : new int[0];
        String dom = Domains.ONNX;
        if ((attrs.length - start) % 2 == 1) {
            dom = (String) attrs[start];
            start++;
        }
        this.domain = dom;
        this.minInputs = minInputs;
        this.maxInputs = maxInputs;
        this.outputs = outputs;
        Map<String, AttrType> m = new LinkedHashMap<>();
        for (int i = start; i < attrs.length; i += 2) m.put((String) attrs[i], (AttrType) attrs[i + 1]);
        this.attributes = Collections.unmodifiableMap(m);
    }

    public Map<String, AttrType> attributes() { return attributes; }

    /** Whether input i must be given: below minInputs unless declared omissible, e.g. CatDecodeAttention's k and v (packed q|k|v). */
    public boolean requiresInput(int i) {
        if (i >= minInputs) return false;
        for (int o : omissible) if (o == i) return false;
        return true;
    }

    public static Op byOnnxType(String type) {
        for (Op op : values()) if (op.onnxType.equals(type)) return op;
        throw new IllegalArgumentException("operator " + type + " is not known to the builder");
    }
}
