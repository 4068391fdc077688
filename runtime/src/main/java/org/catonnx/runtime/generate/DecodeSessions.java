package org.catonnx.runtime.generate;

import org.catonnx.graphs.DecodeGraphs;
import org.catonnx.graphs.GenerationLoopGraphs;
import org.catonnx.nn.GraphOptions;
import org.catonnx.graphs.LayerDecodeGraphs;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Variant;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.runtime.ModelSession;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.SessionConfig;

import java.util.LinkedHashMap;
import java.util.Map;

/** The ONNX Runtime sessions of the decode graphs of one model and chunk size, by graph kind. */
public final class DecodeSessions implements AutoCloseable {
    public static final String START = "start";
    public static final String COMPRESS = "compress";
    public static final String SUMMARIES = "summaries";
    public static final String TOKENS = "tokens";
    public static final String STEP = "step";
    /** CAT-layer models: the token that completes a chunk */
    public static final String CHUNK_END = "chunk_end";
    /** the whole generation as one ONNX Loop (see GenerationLoopGraphs) */
    public static final String LOOP = "generate";

    private final Map<String, ModelSession> sessions;
    private final GraphOptions options;

    public DecodeSessions(Map<String, ModelSession> sessions, GraphOptions options) {
        this.sessions = sessions;
        this.options = options;
    }

    /** Builds the step-by-step decode graphs in memory from weights and opens them. */
    public static DecodeSessions build(ModelSpec spec, WeightSource w, int chunk, GraphOptions o, SessionConfig sc) {
        return build(spec, w, chunk, o, sc, false);
    }

    /** As above; withLoop also opens the in-graph generation loop. */
    public static DecodeSessions build(ModelSpec spec, WeightSource w, int chunk, GraphOptions o, SessionConfig sc, boolean withLoop) {
        return build(spec, w, chunk, o, sc, true, withLoop);
    }

    /** Only the in-graph generation loop: one session, one copy of the weights (greedy, whole generations). */
    public static DecodeSessions buildLoopOnly(ModelSpec spec, WeightSource w, int chunk, GraphOptions o, SessionConfig sc) {
        return build(spec, w, chunk, o, sc, false, true);
    }

    private static DecodeSessions build(ModelSpec spec, WeightSource w, int chunk, GraphOptions o, SessionConfig sc, boolean steps, boolean withLoop) {
        sc.requireSupports(o.precision);
        Map<String, Graph> graphs = new LinkedHashMap<>();
        if (!steps) {
            graphs.put(LOOP, spec.variant == Variant.TRANSFORMER ? GenerationLoopGraphs.dense(spec, w, o) : GenerationLoopGraphs.cat(spec, w, chunk, o));
        } else if (spec.variant == Variant.TRANSFORMER) {
            graphs.put(STEP, DecodeGraphs.denseStep(spec, w, o));
            if (withLoop) graphs.put(LOOP, GenerationLoopGraphs.dense(spec, w, o));
        } else if (spec.variant == Variant.CAT_LAYER) {
            graphs.put(START, LayerDecodeGraphs.start(spec, w, o));
            graphs.put(TOKENS, LayerDecodeGraphs.tokens(spec, w, o));
            graphs.put(CHUNK_END, LayerDecodeGraphs.chunkEnd(spec, w, o));
        } else {
            graphs.put(START, DecodeGraphs.start(spec, w, chunk, o));
            graphs.put(COMPRESS, DecodeGraphs.compress(spec, w, chunk, o));
            graphs.put(SUMMARIES, DecodeGraphs.summaries(spec, w, chunk, o));
            graphs.put(TOKENS, DecodeGraphs.tokens(spec, w, chunk, o));
            if (withLoop) graphs.put(LOOP, GenerationLoopGraphs.cat(spec, w, chunk, o));
        }
        Map<String, ModelSession> s = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Graph> e : graphs.entrySet()) {
                s.put(e.getKey(), OrtRuntime.get().open(new OnnxModel(e.getValue()).toBytes(), sc));
            }
        } catch (RuntimeException e) {
            s.values().forEach(ModelSession::close);
            throw e;
        }
        return new DecodeSessions(s, o);
    }

    public ModelSession get(String kind) {
        ModelSession s = sessions.get(kind);
        if (s == null) throw new IllegalStateException("no " + kind + " decode graph loaded");
        return s;
    }

    public GraphOptions options() { return options; }

    public boolean has(String kind) { return sessions.containsKey(kind); }

    private boolean closed;

    /** Idempotent: a Generator closes its sessions and try-with-resources may close them again. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (ModelSession s : sessions.values()) {
            s.endProfiling();   // writes the trace when the session was opened with profiling
            s.close();
        }
    }
}
