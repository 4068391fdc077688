package org.catonnx.runtime;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions;
import ai.onnxruntime.TensorInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.catonnx.onnx.TensorData;

/**
 * A loaded model. {@link #run} may be called from several threads at once; {@link #close} must not overlap a run.
 * Inputs and outputs cross the boundary as {@link TensorData}; no native tensor outlives a call.
 */
public final class ModelSession implements AutoCloseable {
    private final OrtEnvironment env;
    private final OrtSession session;
    private final SessionOptions options;
    private final String provider;
    private final String label;
    private final boolean profiling;
    private final Map<String, TensorSpec> inputs;
    private final Map<String, TensorSpec> outputs;
    private volatile boolean closed;

    ModelSession(OrtEnvironment env, OrtSession session, SessionOptions options, String provider, String label,
                 boolean profiling) throws OrtException {
        this.env = env;
        this.session = session;
        this.options = options;
        this.provider = provider;
        this.label = label;
        this.profiling = profiling;
        this.inputs = specs(session.getInputInfo());
        this.outputs = specs(session.getOutputInfo());
    }

    private static Map<String, TensorSpec> specs(Map<String, NodeInfo> infos) {
        Map<String, TensorSpec> out = new LinkedHashMap<>();
        for (NodeInfo n : infos.values()) {
            if (n.getInfo() instanceof TensorInfo t) {
                out.put(n.getName(), new TensorSpec(n.getName(), Tensors.dtypeOf(t), t.getShape(), Arrays.asList(t.getDimensionNames())));
            } else {
                out.put(n.getName(), new TensorSpec(n.getName(), null, new long[0], List.of()));
            }
        }
        return Collections.unmodifiableMap(out);
    }

    /** "CUDAExecutionProvider" or "CPUExecutionProvider": the provider asked for first (CPU may still take some nodes). */
    public String provider() { return provider; }

    public List<String> inputNames() { return List.copyOf(inputs.keySet()); }

    public List<String> outputNames() { return List.copyOf(outputs.keySet()); }

    /** Declared inputs in model order. */
    public Map<String, TensorSpec> inputs() { return inputs; }

    /** Declared outputs in model order. */
    public Map<String, TensorSpec> outputs() { return outputs; }

    public TensorSpec input(String name) {
        TensorSpec s = inputs.get(name);
        if (s == null) throw new IllegalArgumentException("no input '" + name + "'; model expects " + describe(inputs));
        return s;
    }

    public TensorSpec output(String name) {
        TensorSpec s = outputs.get(name);
        if (s == null) throw new IllegalArgumentException("no output '" + name + "'; model produces " + describe(outputs));
        return s;
    }

    /** Runs the model and returns every output, in model order. */
    public Map<String, TensorData> run(Map<String, TensorData> feeds) {
        return run(feeds, outputs.keySet());
    }

    /** Runs the model and returns only the named outputs, in the order given. */
    public Map<String, TensorData> run(Map<String, TensorData> feeds, Set<String> wanted) {
        checkOpen();
        validate(feeds);
        for (String w : wanted) output(w);
        Map<String, OnnxTensor> ort = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, TensorData> e : feeds.entrySet()) ort.put(e.getKey(), Tensors.toOnnx(env, e.getValue()));
            try (OrtSession.Result result = session.run(ort, wanted)) {
                Map<String, TensorData> out = new LinkedHashMap<>();
                for (Map.Entry<String, OnnxValue> e : result) {
                    if (!(e.getValue() instanceof OnnxTensor t)) {
                        throw new IllegalArgumentException("output '" + e.getKey() + "' is a " + e.getValue().getType() + ", not a tensor");
                    }
                    out.put(e.getKey(), Tensors.fromOnnx(t));
                }
                return out;
            }
        } catch (OrtException e) {
            throw new InferenceException("running " + label + " failed: " + e.getMessage(), e);
        } finally {
            for (OnnxTensor t : ort.values()) t.close();
        }
    }

    private void validate(Map<String, TensorData> feeds) {
        List<String> unknown = new ArrayList<>();
        for (String n : feeds.keySet()) if (!inputs.containsKey(n)) unknown.add(n);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("unknown input(s) " + unknown + "; model expects " + describe(inputs));
        }
        List<String> missing = new ArrayList<>();
        for (String n : inputs.keySet()) if (!feeds.containsKey(n)) missing.add(n);
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("missing input(s) " + missing + "; model expects " + describe(inputs));
        }
        for (Map.Entry<String, TensorData> e : feeds.entrySet()) {
            TensorSpec spec = inputs.get(e.getKey());
            TensorData t = e.getValue();
            if (t == null) throw new IllegalArgumentException("input '" + e.getKey() + "' is null; model expects " + spec);
            if (spec.type() != t.type()) {
                throw new IllegalArgumentException("input '" + e.getKey() + "' has element type " + t.type()
                        + " but the model declares " + spec + "; model expects " + describe(inputs));
            }
            long[] want = spec.shape();
            boolean shapeOk = want.length == t.rank();
            for (int i = 0; shapeOk && i < want.length; i++) shapeOk = want[i] < 0 || want[i] == t.dim(i);
            if (!shapeOk) {
                throw new IllegalArgumentException("input '" + e.getKey() + "' has shape " + Arrays.toString(t.shape())
                        + " but the model declares " + spec);
            }
        }
    }

    private static String describe(Map<String, TensorSpec> specs) {
        return specs.values().stream().map(TensorSpec::toString).collect(Collectors.joining(", ", "{", "}"));
    }

    /** Ends profiling and returns the trace file, or empty when the session was not opened with profiling. */
    public Optional<Path> endProfiling() {
        checkOpen();
        if (!profiling) return Optional.empty();
        try {
            return Optional.of(Path.of(session.endProfiling()));
        } catch (OrtException e) {
            throw new InferenceException("ending profiling of " + label + " failed: " + e.getMessage(), e);
        }
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("session for " + label + " is closed");
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            session.close();
        } catch (OrtException e) {
            throw new InferenceException("closing session for " + label + " failed: " + e.getMessage(), e);
        } finally {
            options.close();
        }
    }

    @Override
    public String toString() {
        return "ModelSession[" + label + " on " + provider + "]";
    }
}
