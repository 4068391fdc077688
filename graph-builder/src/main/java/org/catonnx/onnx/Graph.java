package org.catonnx.onnx;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The graph-building context: owns nodes, initializers, inputs and outputs, names nodes by
 * the current scope path (e.g. /decoder/layers.3/attn/MatMul), deduplicates constants and
 * checks types and shapes as nodes are added. Subgraphs (Loop/If bodies) share the root's
 * name space, constants and initializers.
 */
public final class Graph {
    /** An initializer: trainable parameters are the ones training differentiates. */
    public static final class Initializer {
        public final Value value;
        public final TensorData data;
        public final boolean trainable;

        Initializer(Value value, TensorData data, boolean trainable) {
            this.value = value;
            this.data = data;
            this.trainable = trainable;
        }
    }

    private final String name;
    private final Graph root;
    private final List<Node> nodes = new ArrayList<>();
    private final List<Value> inputs = new ArrayList<>();
    private final List<Value> outputs = new ArrayList<>();
    private final Deque<String> scope = new ArrayDeque<>();
    // shared through the root
    private final Map<String, Initializer> initializers;
    private final Map<String, Value> constantsByContent;
    private final Set<String> names;
    private final Map<String, Integer> nodeNameCounts;

    private Graph(String name, Graph parent) {
        this.name = name;
        this.root = parent == null ? this : parent.root;
        if (parent == null) {
            initializers = new LinkedHashMap<>();
            constantsByContent = new HashMap<>();
            names = new LinkedHashSet<>();
            nodeNameCounts = new HashMap<>();
        } else {
            initializers = root.initializers;
            constantsByContent = root.constantsByContent;
            names = root.names;
            nodeNameCounts = root.nodeNameCounts;
            scope.addAll(parent.scope);
        }
    }

    public static Graph create(String name) {
        return new Graph(name, null);
    }

    public String name() { return name; }
    public boolean isRoot() { return root == this; }
    public List<Node> nodes() { return Collections.unmodifiableList(nodes); }
    public List<Value> inputs() { return Collections.unmodifiableList(inputs); }
    public List<Value> outputs() { return Collections.unmodifiableList(outputs); }
    public Map<String, Initializer> initializers() { return Collections.unmodifiableMap(initializers); }

    // ---------------------------------------------------------------- scopes and names

    /** Scope for node names; use with try-with-resources. */
    public final class Scope implements AutoCloseable {
        private final int depth;

        private Scope(String part) {
            scope.addLast(part);
            depth = scope.size();
        }

        @Override
        public void close() {
            if (scope.size() != depth) throw new IllegalStateException("scopes closed out of order");
            scope.removeLast();
        }
    }

    public Scope scope(String part) {
        if (part.isEmpty() || part.contains("/")) throw new GraphBuildException("invalid scope name '" + part + "'");
        return new Scope(part);
    }

    private String nodeName(String opType) {
        String base = "/" + String.join("/", scope) + (scope.isEmpty() ? "" : "/") + opType;
        int k = nodeNameCounts.merge(base, 1, Integer::sum) - 1;
        return k == 0 ? base : base + "_" + k;
    }

    private void claim(String n) {
        if (n == null || n.isEmpty()) throw new GraphBuildException("empty value name");
        if (!names.add(n)) throw new GraphBuildException("duplicate name '" + n + "' in graph " + root.name);
    }

    // ---------------------------------------------------------------- inputs, outputs, initializers

    public Value input(String name, DType type, Shape shape) {
        claim(name);
        Value v = new Value(this, name, type, shape, null);
        inputs.add(v);
        return v;
    }

    public Value input(String name, DType type, Object... dims) {
        return input(name, type, Shape.of(dims));
    }

    /** Marks a value as a graph output under the given name (an Identity renames it if needed). */
    public Value output(String name, Value v) {
        Value out = v;
        boolean isInputOrInit = inputs.contains(v) || initializers.containsKey(v.name()) || v.graph() != this;
        if (!v.name().equals(name) || isInputOrInit || outputs.contains(v)) {
            out = apply1(Op.IDENTITY, List.of(v), Map.of(), name);
        }
        outputs.add(out);
        return out;
    }

    /** A trainable weight (training differentiates with respect to these). */
    public Value parameter(String name, TensorData data) {
        return initializer(name, data, true);
    }

    /** A named, non-trainable initializer (e.g. a RoPE table). */
    public Value initializer(String name, TensorData data, boolean trainable) {
        claim(name);
        Value v = new Value(root, name, data.type(), Shape.ofStatic(data.shape()), small(data) ? data : null);
        initializers.put(name, new Initializer(v, data, trainable));
        return v;
    }

    private static boolean small(TensorData d) {
        return (d.type() == DType.INT64 || d.type() == DType.INT32) && d.numElements() <= 64;
    }

    /**
     * Turns a named initializer of this root graph into a graph input (same value and name),
     * e.g. parameters that a training loop feeds; returns the data it held.
     */
    public TensorData initializerToInput(String name) {
        if (!isRoot()) throw new GraphBuildException("initializerToInput on subgraph " + this.name);
        Initializer i = initializers.remove(name);
        if (i == null) throw new GraphBuildException("graph " + this.name + " has no initializer '" + name + "'");
        inputs.add(i.value);
        return i.data;
    }

    /** A constant, deduplicated by contents across the whole model. */
    public Value constant(TensorData data) {
        String key = data.type() + Arrays.toString(data.shape()) + ":" + contentKey(data.bytes());
        Value v = constantsByContent.get(key);
        if (v != null) return v;
        String n = "/const/" + data.type().name().toLowerCase() + Shape.str(data.shape()).replace(",", "x")
                + (data.numElements() <= 8 ? "/" + describe(data) : "/" + Integer.toHexString(key.hashCode()));
        while (names.contains(n)) n = n + "'";
        v = initializer(n, data, false);
        constantsByContent.put(key, v);
        return v;
    }

    private static String contentKey(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return Arrays.toString(a);
    }

    private static String describe(TensorData d) {
        switch (d.type()) {
            case INT64: case INT32: case BOOL: return Arrays.toString(d.toLongs()).replace(" ", "");
            case FLOAT: case FLOAT16: case BFLOAT16: case DOUBLE: return Arrays.toString(d.toFloats()).replace(" ", "");
            default: return "v";
        }
    }

    public Value constInt64(long... values) {
        return constant(TensorData.ofLongs(values, values.length));
    }

    public Value scalarInt64(long value) {
        return constant(TensorData.ofLongs(new long[] {value}));
    }

    /** A scalar of a floating type (float32 value converted). */
    public Value scalar(double value, DType type) {
        TensorData d = type == DType.DOUBLE ? TensorData.ofDoubles(new double[] {value})
                : TensorData.ofFloats(new float[] {(float) value}).castTo(type);
        return constant(d);
    }

    public Value scalarBool(boolean value) {
        return constant(TensorData.ofBools(new boolean[] {value}));
    }

    // ---------------------------------------------------------------- nodes

    /** Adds a node; checks arity, attribute names and kinds, then types and shapes. */
    public Value[] apply(Op op, List<Value> ins, Map<String, Object> attrs, int nOutputs) {
        return apply(op, ins, attrs, nOutputs, null, null, Set.of());
    }

    private Value apply1(Op op, List<Value> ins, Map<String, Object> attrs, String outName) {
        return apply(op, ins, attrs, 1, outName, null, Set.of())[0];
    }

    /** omitted: indices of optional outputs left out (null in the node, "" in the model) */
    Value[] apply(Op op, List<Value> ins, Map<String, Object> attrs, int nOutputs, String outName,
                  Function<Node, List<ShapeInference.Out>> outTypes, Set<Integer> omitted) {
        String nodeName = nodeName(op.onnxType);
        int last = ins.size();
        while (last > 0 && ins.get(last - 1) == null) last--;
        if (last < op.minInputs || last > op.maxInputs) {
            throw new GraphBuildException(nodeName + " (" + op.onnxType + "): takes " + op.minInputs
                    + (op.maxInputs != op.minInputs ? ".." + op.maxInputs : "") + " inputs, got " + last);
        }
        for (int i = 0; i < op.minInputs; i++) {
            if (ins.get(i) == null && op.requiresInput(i)) throw new GraphBuildException(nodeName + " (" + op.onnxType + "): input " + i + " is required");
        }
        for (Value v : ins) {
            if (v != null && v.graph().root != root) {
                throw new GraphBuildException(nodeName + ": input " + v.name() + " belongs to another model");
            }
        }
        Map<String, Object> checked = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : attrs.entrySet()) {
            AttrType want = op.attributes().get(e.getKey());
            if (want == null) {
                throw new GraphBuildException(nodeName + " (" + op.onnxType + "): unknown attribute '" + e.getKey()
                        + "' (allowed: " + op.attributes().keySet() + ")");
            }
            AttrType got = AttrType.of(e.getValue());
            if (got != want) {
                throw new GraphBuildException(nodeName + " (" + op.onnxType + "): attribute '" + e.getKey() + "' must be "
                        + want + ", got " + (got == null ? e.getValue() : got));
            }
            checked.put(e.getKey(), e.getValue());
        }
        int count = op.outputs >= 0 ? op.outputs : nOutputs;
        // provisional outputs so the rule can see the node; replaced below with typed ones
        List<Value> provisional = new ArrayList<>();
        for (int i = 0; i < count; i++) provisional.add(null);
        Node probe = new Node(op, nodeName, new ArrayList<>(ins.subList(0, last)), provisional, checked);
        List<ShapeInference.Out> types = outTypes != null ? outTypes.apply(probe) : ShapeInference.infer(probe);
        List<Value> outs = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            if (omitted.contains(i)) {
                outs.add(null);
                continue;
            }
            String vn = outName != null && count == 1 ? outName : nodeName + "/output_" + i;
            claim(vn);
            outs.add(new Value(this, vn, types.get(i).type, types.get(i).shape, null));
        }
        nodes.add(new Node(op, nodeName, new ArrayList<>(ins.subList(0, last)), outs, checked));
        return outs.toArray(new Value[0]);
    }

    private Value op1(Op op, Map<String, Object> attrs, Value... ins) {
        return apply(op, Arrays.asList(ins), attrs, 1)[0];
    }

    private static Map<String, Object> attrs(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    // ---------------------------------------------------------------- one method per operator

    public Value add(Value a, Value b) { return op1(Op.ADD, Map.of(), a, b); }
    public Value sub(Value a, Value b) { return op1(Op.SUB, Map.of(), a, b); }
    public Value mul(Value a, Value b) { return op1(Op.MUL, Map.of(), a, b); }
    public Value div(Value a, Value b) { return op1(Op.DIV, Map.of(), a, b); }
    public Value pow(Value a, Value b) { return op1(Op.POW, Map.of(), a, b); }
    public Value max(Value... xs) { return op1(Op.MAX, Map.of(), xs); }
    public Value min(Value... xs) { return op1(Op.MIN, Map.of(), xs); }
    public Value mod(Value a, Value b) {
        // ONNX requires fmod=1 for floating inputs (C fmod semantics); integers use Python's sign rule
        return op1(Op.MOD, a.type().isFloating() ? attrs("fmod", 1L) : Map.of(), a, b);
    }
    public Value equal(Value a, Value b) { return op1(Op.EQUAL, Map.of(), a, b); }
    public Value less(Value a, Value b) { return op1(Op.LESS, Map.of(), a, b); }
    public Value lessOrEqual(Value a, Value b) { return op1(Op.LESS_OR_EQUAL, Map.of(), a, b); }
    public Value greater(Value a, Value b) { return op1(Op.GREATER, Map.of(), a, b); }
    public Value greaterOrEqual(Value a, Value b) { return op1(Op.GREATER_OR_EQUAL, Map.of(), a, b); }
    public Value and(Value a, Value b) { return op1(Op.AND, Map.of(), a, b); }
    public Value or(Value a, Value b) { return op1(Op.OR, Map.of(), a, b); }
    public Value not(Value a) { return op1(Op.NOT, Map.of(), a); }
    public Value where(Value cond, Value a, Value b) { return op1(Op.WHERE, Map.of(), cond, a, b); }

    public Value sqrt(Value a) { return op1(Op.SQRT, Map.of(), a); }
    public Value reciprocal(Value a) { return op1(Op.RECIPROCAL, Map.of(), a); }
    public Value exp(Value a) { return op1(Op.EXP, Map.of(), a); }
    public Value log(Value a) { return op1(Op.LOG, Map.of(), a); }
    public Value sigmoid(Value a) { return op1(Op.SIGMOID, Map.of(), a); }
    public Value neg(Value a) { return op1(Op.NEG, Map.of(), a); }
    public Value abs(Value a) { return op1(Op.ABS, Map.of(), a); }
    public Value tanh(Value a) { return op1(Op.TANH, Map.of(), a); }
    public Value cos(Value a) { return op1(Op.COS, Map.of(), a); }
    public Value sin(Value a) { return op1(Op.SIN, Map.of(), a); }
    public Value floor(Value a) { return op1(Op.FLOOR, Map.of(), a); }
    public Value ceil(Value a) { return op1(Op.CEIL, Map.of(), a); }
    public Value identity(Value a) { return op1(Op.IDENTITY, Map.of(), a); }
    public Value clip(Value a, Value lo, Value hi) { return op1(Op.CLIP, Map.of(), a, lo, hi); }

    public Value cast(Value a, DType to) {
        if (a.type() == to) return a;
        return op1(Op.CAST, attrs("to", (long) to.onnx), a);
    }

    public Value matMul(Value a, Value b) { return op1(Op.MATMUL, Map.of(), a, b); }

    public Value gemm(Value a, Value b, Value c, float alpha, float beta, boolean transA, boolean transB) {
        return op1(Op.GEMM, attrs("alpha", alpha, "beta", beta, "transA", transA ? 1L : 0L, "transB", transB ? 1L : 0L), a, b, c);
    }

    public Value reduceMean(Value a, boolean keepDims, long... axes) { return reduce(Op.REDUCE_MEAN, a, keepDims, axes); }
    public Value reduceSum(Value a, boolean keepDims, long... axes) { return reduce(Op.REDUCE_SUM, a, keepDims, axes); }
    public Value reduceMax(Value a, boolean keepDims, long... axes) { return reduce(Op.REDUCE_MAX, a, keepDims, axes); }
    public Value reduceSumSquare(Value a, boolean keepDims, long... axes) { return reduce(Op.REDUCE_SUM_SQUARE, a, keepDims, axes); }

    private Value reduce(Op op, Value a, boolean keepDims, long... axes) {
        // no axes: reduce over everything
        Value ax = axes.length == 0 ? null : constInt64(axes);
        return op1(op, attrs("keepdims", keepDims ? 1L : 0L), a, ax);
    }

    /** x * rsqrt(mean(x^2 over the last axis) + eps) * scale in one node (ONNX Runtime's SimplifiedLayerNormalization). */
    public Value simplifiedLayerNorm(Value x, Value scale, float eps) {
        return op1(Op.SIMPLIFIED_LAYER_NORM, attrs("axis", -1L, "epsilon", eps, "stash_type", 1L), x, scale);
    }

    /**
     * ONNX Runtime's SkipSimplifiedLayerNormalization: {RMSNorm(x + skip) * gamma, x + skip} in one
     * kernel (a residual add folded into the next norm). Its mean and inverse-std outputs are left
     * out: the CUDA kernel computes neither.
     */
    public Value[] skipSimplifiedLayerNorm(Value x, Value skip, Value gamma, float eps) {
        Value[] o = apply(Op.SKIP_SIMPLIFIED_LAYER_NORM, List.of(x, skip, gamma), attrs("epsilon", eps), 4, null, null, Set.of(1, 2));
        return new Value[] {o[0], o[3]};
    }

    public Value softmax(Value a, long axis) { return op1(Op.SOFTMAX, attrs("axis", axis), a); }
    public Value logSoftmax(Value a, long axis) { return op1(Op.LOG_SOFTMAX, attrs("axis", axis), a); }

    public Value argMax(Value a, long axis, boolean keepDims) {
        return op1(Op.ARG_MAX, attrs("axis", axis, "keepdims", keepDims ? 1L : 0L), a);
    }

    /** Returns {values, indices}. */
    public Value[] topK(Value a, Value k, long axis, boolean largest) {
        return apply(Op.TOP_K, List.of(a, k), attrs("axis", axis, "largest", largest ? 1L : 0L, "sorted", 1L), 2);
    }

    public Value cumSum(Value a, Value axis, boolean exclusive, boolean reverse) {
        return op1(Op.CUM_SUM, attrs("exclusive", exclusive ? 1L : 0L, "reverse", reverse ? 1L : 0L), a, axis);
    }

    public Value gather(Value data, Value indices, long axis) { return op1(Op.GATHER, attrs("axis", axis), data, indices); }
    public Value gatherElements(Value data, Value indices, long axis) { return op1(Op.GATHER_ELEMENTS, attrs("axis", axis), data, indices); }

    public Value scatterElements(Value data, Value indices, Value updates, long axis, String reduction) {
        return op1(Op.SCATTER_ELEMENTS, attrs("axis", axis, "reduction", reduction), data, indices, updates);
    }

    public Value scatterND(Value data, Value indices, Value updates, String reduction) {
        return op1(Op.SCATTER_ND, attrs("reduction", reduction), data, indices, updates);
    }

    public Value trilu(Value a, long k, boolean upper) {
        return op1(Op.TRILU, attrs("upper", upper ? 1L : 0L), a, scalarInt64(k));
    }

    public Value reshape(Value a, Value shape) { return op1(Op.RESHAPE, Map.of(), a, shape); }
    public Value reshape(Value a, long... shape) { return reshape(a, constInt64(shape)); }
    /** No perm: reverse the axes (ONNX default). */
    public Value transpose(Value a, long... perm) { return op1(Op.TRANSPOSE, perm.length == 0 ? Map.of() : attrs("perm", perm), a); }
    public Value concat(long axis, Value... xs) { return op1(Op.CONCAT, attrs("axis", axis), xs); }
    public Value concat(long axis, List<Value> xs) { return concat(axis, xs.toArray(new Value[0])); }

    public Value[] split(Value a, long axis, long... sizes) {
        return apply(Op.SPLIT, List.of(a, constInt64(sizes)), attrs("axis", axis), sizes.length);
    }

    public Value[] splitEqual(Value a, long axis, int parts) {
        return apply(Op.SPLIT, List.of(a), attrs("axis", axis, "num_outputs", (long) parts), parts);
    }

    public Value slice(Value a, Value starts, Value ends, Value axes, Value steps) {
        return op1(Op.SLICE, Map.of(), a, starts, ends, axes, steps);
    }

    /** a[start:end] along one axis (end may be Long.MAX_VALUE for "to the end"). */
    public Value slice(Value a, long axis, long start, long end) {
        return slice(a, constInt64(start), constInt64(end), constInt64(axis), null);
    }

    public Value slice(Value a, long axis, long start, long end, long step) {
        return slice(a, constInt64(start), constInt64(end), constInt64(axis), constInt64(step));
    }

    public Value unsqueeze(Value a, long... axes) { return op1(Op.UNSQUEEZE, Map.of(), a, constInt64(axes)); }
    /** No axes: remove every dimension of size 1 (an empty axes input would mean the same to ORT but not to inference). */
    public Value squeeze(Value a, long... axes) { return op1(Op.SQUEEZE, Map.of(), a, axes.length == 0 ? null : constInt64(axes)); }
    public Value expand(Value a, Value shape) { return op1(Op.EXPAND, Map.of(), a, shape); }

    public Value pad(Value a, Value pads, Value constantValue) {
        return op1(Op.PAD, attrs("mode", "constant"), a, pads, constantValue);
    }

    public Value shape(Value a) { return op1(Op.SHAPE, Map.of(), a); }

    /** One dimension of a's runtime shape, as a 1-element int64 tensor. */
    public Value shape(Value a, long dim) {
        long r = a.rank();
        long d = dim < 0 ? dim + r : dim;
        return op1(Op.SHAPE, attrs("start", d, "end", d + 1), a);
    }

    public Value size(Value a) { return op1(Op.SIZE, Map.of(), a); }
    public Value range(Value start, Value limit, Value delta) { return op1(Op.RANGE, Map.of(), start, limit, delta); }

    public Value constantOfShape(Value shape, TensorData value) {
        return op1(Op.CONSTANT_OF_SHAPE, attrs("value", value), shape);
    }

    public Value randomUniformLike(Value like, DType type, float low, float high, Float seed) {
        Map<String, Object> m = attrs("dtype", (long) type.onnx, "low", low, "high", high);
        if (seed != null) m.put("seed", seed);
        return op1(Op.RANDOM_UNIFORM_LIKE, m, like);
    }

    /** Custom CAT attention (org.catonnx domain): q,k,v (batch, heads, positions, head_dim). */
    public Value catAttention(Value q, Value k, Value v, long blockLen, float scale) {
        return op1(Op.CAT_ATTENTION, attrs("block_len", blockLen, "scale", scale), q, k, v);
    }

    /**
     * Our CatDecodeAttention (org.catonnx): query [B,1,H*hd], key/value [B,1,Hkv*hd], caches
     * [B,Hkv,S,hd] whose first seqlens[b] (int32 [B], read on the device) entries are valid; the
     * new entry goes to slot seqlens[b] and the query attends to slots 0..seqlens[b].
     * @return {output [B,1,H*hd], present_key, present_value}
     */
    public Value[] catDecodeAttention(Value q, Value k, Value v, Value pastK, Value pastV, Value seqlens, int heads, int kvHeads, float scale) {
        return catDecodeAttention(q, k, v, pastK, pastV, seqlens, null, null, null, heads, kvHeads, scale);
    }

    /**
     * CatDecodeAttention on the packed output of one fused wqkv projection, qkvPacked [B,1,(H+2*Hkv)*hd]
     * laid out q | k | v, with rotary fused when cos/sin are given: position int64 [1] (every row) or [B],
     * cos/sin [maxPosition, R/2] (q's type) rotate the first R elements of every query head and of the new
     * key, half-split, as {@link #rotaryEmbedding} would. position, cos and sin null: no rotary.
     * @return {output [B,1,H*hd], present_key, present_value}
     */
    public Value[] catDecodeAttention(Value qkvPacked, Value pastK, Value pastV, Value seqlens, Value position, Value cos, Value sin,
                                      int heads, int kvHeads, float scale) {
        return catDecodeAttention(qkvPacked, null, null, pastK, pastV, seqlens, position, cos, sin, heads, kvHeads, scale);
    }

    /** The general form: k, v null for a packed q; position, cos, sin null for no rotary. */
    public Value[] catDecodeAttention(Value q, Value k, Value v, Value pastK, Value pastV, Value seqlens, Value position, Value cos,
                                      Value sin, int heads, int kvHeads, float scale) {
        return apply(Op.CAT_DECODE_ATTENTION, Arrays.asList(q, k, v, pastK, pastV, seqlens, position, cos, sin),
                attrs("num_heads", (long) heads, "kv_num_heads", (long) kvHeads, "scale", scale), 3);
    }

    /** Our SwiGlu (org.catonnx): packed [..., 2F] = gate | up (one fc_1|fc_2 projection) -> silu(gate) * up [..., F]. */
    public Value swiGlu(Value packed) { return op1(Op.SWI_GLU, Map.of(), packed); }

    /**
     * ONNX Runtime's GroupQueryAttention (com.microsoft), causal, no rotary: query [B,S,H*hd], key/value
     * [B,S,Hkv*hd], past caches [B,Hkv,max,hd]; writes the new keys at seqlensK + 1 - S per row.
     * @return {output [B,S,H*hd], present_key, present_value}
     */
    public Value[] groupQueryAttention(Value q, Value k, Value v, Value pastK, Value pastV, Value seqlensK, Value totalLength,
                                       int heads, int kvHeads, float scale) {
        return apply(Op.GROUP_QUERY_ATTENTION, List.of(q, k, v, pastK, pastV, seqlensK, totalLength),
                attrs("num_heads", (long) heads, "kv_num_heads", (long) kvHeads, "scale", scale), 3);
    }

    /** ONNX Runtime's RotaryEmbedding (com.microsoft), rotate-half form, on x [B,S,heads*hd]. */
    public Value rotaryEmbedding(Value x, Value positionIds, Value cosHalf, Value sinHalf, int heads, int rotaryDim) {
        return op1(Op.ROTARY_EMBEDDING, attrs("interleaved", 0L, "num_heads", (long) heads, "rotary_embedding_dim", (long) rotaryDim),
                x, positionIds, cosHalf, sinHalf);
    }

    // ---------------------------------------------------------------- control flow

    /** Builds a Loop body: receives (body graph, iteration number, loop-carried inputs), returns its outputs. */
    public interface LoopBody {
        /** @return condition first, then updated carried values, then per-iteration scan outputs */
        List<Value> build(Graph body, Value iteration, List<Value> carried);
    }

    /**
     * ONNX Loop. carried values keep their types; declare their shapes as they may vary
     * across iterations (carriedShapes, or null to reuse the initial shapes).
     * @return final carried values followed by scan outputs (stacked along a new axis 0)
     */
    public Value[] loop(Value maxTrips, Value cond, List<Value> carried, List<Shape> carriedShapes, LoopBody body) {
        Graph b = new Graph(nodeName("Loop").replace("/", "_") + "_body", this);
        Value iter = b.input(b.bodyName("iter"), DType.INT64, Shape.scalar());
        Value condIn = b.input(b.bodyName("cond_in"), DType.BOOL, Shape.scalar());
        List<Value> carriedIn = new ArrayList<>();
        for (int i = 0; i < carried.size(); i++) {
            Shape s = carriedShapes == null ? carried.get(i).shape() : carriedShapes.get(i);
            carriedIn.add(b.input(b.bodyName("carried_" + i), carried.get(i).type(), s));
        }
        List<Value> outs = body.build(b, iter, carriedIn);
        if (outs.size() < 1 + carried.size()) {
            throw new GraphBuildException("Loop body returned " + outs.size() + " values, needs at least " + (1 + carried.size()));
        }
        if (outs.get(0).type() != DType.BOOL) throw new GraphBuildException("Loop body condition must be bool, got " + outs.get(0));
        for (int i = 0; i < outs.size(); i++) {
            b.output(b.bodyName("out_" + i), outs.get(i));
        }
        List<Value> ins = new ArrayList<>();
        ins.add(maxTrips);
        ins.add(cond);
        ins.addAll(carried);
        int nScan = outs.size() - 1 - carried.size();
        return apply(Op.LOOP, ins, attrs("body", b), carried.size() + nScan, null, node -> {
            List<ShapeInference.Out> o = new ArrayList<>();
            for (int i = 0; i < carried.size(); i++) {
                o.add(new ShapeInference.Out(carried.get(i).type(), carriedIn.get(i).shape()));
            }
            for (int i = 0; i < nScan; i++) {
                Value s = outs.get(1 + carried.size() + i);
                List<Dim> d = new ArrayList<>();
                d.add(Dim.unknown());
                if (s.shape().hasRank()) d.addAll(s.shape().dims());
                o.add(new ShapeInference.Out(s.type(), s.shape().hasRank() ? Shape.of(d) : Shape.unknownRank()));
            }
            return o;
        }, Set.of());
    }

    private String bodyName(String local) {
        return name + "/" + local;
    }

    /** Builds an If branch graph; returns its outputs. */
    public interface Branch {
        List<Value> build(Graph branch);
    }

    public Value[] ifElse(Value cond, Branch then, Branch otherwise) {
        String base = nodeName("If").replace("/", "_");
        Graph t = new Graph(base + "_then", this), e = new Graph(base + "_else", this);
        List<Value> to = then.build(t), eo = otherwise.build(e);
        if (to.size() != eo.size()) throw new GraphBuildException("If branches return " + to.size() + " and " + eo.size() + " values");
        for (int i = 0; i < to.size(); i++) {
            if (to.get(i).type() != eo.get(i).type()) {
                throw new GraphBuildException("If branch output " + i + " types differ: " + to.get(i) + " vs " + eo.get(i));
            }
            t.output(t.name + "/out_" + i, to.get(i));
            e.output(e.name + "/out_" + i, eo.get(i));
        }
        return apply(Op.IF, List.of(cond), attrs("then_branch", t, "else_branch", e), to.size(), null, node -> {
            List<ShapeInference.Out> o = new ArrayList<>();
            for (int i = 0; i < to.size(); i++) {
                Shape a = to.get(i).shape(), b = eo.get(i).shape();
                o.add(new ShapeInference.Out(to.get(i).type(), a.equals(b) ? a : a.hasRank() && b.hasRank() && a.rank() == b.rank() ? Shape.unknown(a.rank()) : Shape.unknownRank()));
            }
            return o;
        }, Set.of());
    }
}
