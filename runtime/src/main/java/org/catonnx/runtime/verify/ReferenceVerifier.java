package org.catonnx.runtime.verify;

import org.catonnx.runtime.CustomOps;
import org.catonnx.onnx.DType;
import org.catonnx.nn.AttentionForm;
import org.catonnx.exporter.reference.ReferenceCase;
import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.nn.GraphOptions;
import org.catonnx.graphs.TrainingGraphs;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Variant;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.TensorData;
import org.catonnx.runtime.ModelSession;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.SessionConfig;
import org.catonnx.runtime.generate.DecodeSessions;
import org.catonnx.runtime.generate.GenerationConfig;
import org.catonnx.runtime.generate.Generator;
import org.catonnx.runtime.generate.TokenListener;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Builds a reference directory's graphs from its weights, runs them and compares every tensor
 * the directory holds: logits (per chunk size for adaptive models), ragged logits, loss and
 * greedy generation (gen.prompt -> gen.output).
 */
public final class ReferenceVerifier {
    public static final double LOGITS_TOLERANCE = 1e-4;
    public static final double LOSS_TOLERANCE = 1e-5;
    /** max |ours - reference| / max |reference| per gradient tensor */
    public static final double GRADIENT_TOLERANCE = 1e-4;

    private final GraphOptions options;
    private final SessionConfig session;
    private final Consumer<String> progress;

    public ReferenceVerifier(GraphOptions options, SessionConfig session, Consumer<String> progress) {
        this.options = options;
        this.session = CustomOps.registerIfNeeded(session, options.attentionForm == AttentionForm.CUSTOM);
        this.progress = progress;
    }

    public List<Check> verify(ReferenceCase rc) throws IOException {
        session.requireSupports(options.precision);
        ModelSpec spec = rc.spec();
        rc.weights().requireExactly(spec);
        List<Check> checks = new ArrayList<>();
        double tol = logitsTolerance();
        TensorData ids = rc.require(ForwardGraphs.INPUT_IDS);
        if (spec.variant == Variant.CAT_ADAPTIVE) {
            for (int chunk : spec.chunkSizes()) {
                String key = "logits.p" + Integer.numberOfTrailingZeros(chunk);
                Optional<TensorData> want = rc.io(key);
                if (want.isPresent()) checks.add(compareLogits(rc, chunk, ids, want.get(), key, tol));
            }
        } else {
            Optional<TensorData> want = rc.io(ForwardGraphs.LOGITS);
            if (want.isPresent()) checks.add(compareLogits(rc, spec.chunkSize(), ids, want.get(), ForwardGraphs.LOGITS, tol));
        }
        Optional<TensorData> raggedIds = rc.io("ragged.input_ids");
        Optional<TensorData> raggedLogits = rc.io("ragged.logits");
        if (raggedIds.isPresent() && raggedLogits.isPresent()) {
            checks.add(compareLogits(rc, spec.chunkSize(), raggedIds.get(), raggedLogits.get(), "ragged.logits", tol));
        }
        Optional<TensorData> loss = rc.io(ForwardGraphs.LOSS);
        Optional<TensorData> labels = rc.io(ForwardGraphs.LABELS);
        if (loss.isPresent() && labels.isPresent()) {
            progress.accept("loss");
            Graph g = ForwardGraphs.loss(spec, rc.weights(), spec.chunkSize(), options);
            TensorData got = run(g, Map.of(ForwardGraphs.INPUT_IDS, ids, ForwardGraphs.LABELS, labels.get())).get(ForwardGraphs.LOSS);
            checks.add(new Check(ForwardGraphs.LOSS, "rel", Check.maxRelative(got.toFloats(), loss.get().toFloats()),
                    options.precision == DType.FLOAT ? LOSS_TOLERANCE : 1e-2, ""));
        }
        // gradients are checked in float32 with a portable attention form: the custom CatAttention op has
        // no gradient rule, and half-precision training graphs are not a target (CUDA lacks bf16 ScatterND)
        if (labels.isPresent() && options.attentionForm != AttentionForm.CUSTOM && options.precision == DType.FLOAT
                && rc.ioNames().stream().anyMatch(n -> n.startsWith(TrainingGraphs.GRAD_PREFIX))) {
            checks.addAll(compareGradients(rc, ids, labels.get()));
        }
        Optional<TensorData> prompt = rc.io("gen.prompt"), expected = rc.io("gen.output");
        // token-identical generation is a float32 promise; half precision may flip near-tied greedy choices
        if (prompt.isPresent() && expected.isPresent() && spec.variant != Variant.CAT_LAYER && options.precision == DType.FLOAT) {
            checks.add(compareGeneration(rc, prompt.get(), expected.get()));
        }
        return checks;
    }

    /** The gradients graph (our reverse-mode differentiation of the loss graph) against grad.<name>. */
    private List<Check> compareGradients(ReferenceCase rc, TensorData ids, TensorData labels) throws IOException {
        progress.accept("gradients");
        // the fused RMSNorm has no gradient rule: gradients of the plain graph (the same function)
        Graph g = TrainingGraphs.gradients(rc.spec(), rc.weights(), rc.spec().chunkSize(), options.withFusedNorm(false));
        Map<String, TensorData> got = run(g, Map.of(ForwardGraphs.INPUT_IDS, ids, ForwardGraphs.LABELS, labels));
        List<Check> checks = new ArrayList<>();
        double tol = options.precision == DType.FLOAT ? GRADIENT_TOLERANCE : 5e-2;
        for (String name : rc.ioNames()) {
            if (!name.startsWith(TrainingGraphs.GRAD_PREFIX)) continue;
            TensorData mine = got.get(name);
            if (mine == null) {
                checks.add(new Check(name, "rel", Double.POSITIVE_INFINITY, tol, "the model has no such parameter"));
                continue;
            }
            checks.add(new Check(name, "rel", Check.maxRelative(mine.toFloats(), rc.require(name).toFloats()), tol, ""));
        }
        return checks;
    }

    /** Greedy generation with the cached decoder; the error is the number of rows that differ. */
    private Check compareGeneration(ReferenceCase rc, TensorData prompt, TensorData want) {
        progress.accept("greedy generation");
        int b = (int) prompt.dim(0), n = (int) want.dim(1);
        long[] wf = want.toLongs();
        List<long[]> prompts = prompt.toLongRows();
        int chunk = rc.spec().chunkSize();
        List<long[]> got;
        try (Generator gen = new Generator(rc.spec(), chunk, DecodeSessions.build(rc.spec(), rc.weights(), chunk, options, session))) {
            got = gen.generate(prompts, GenerationConfig.greedy(n), TokenListener.NONE);
        }
        int rowsWrong = 0;
        StringBuilder note = new StringBuilder(b + " x " + n + " tokens");
        for (int r = 0; r < b; r++) {
            long[] g = got.get(r);
            for (int i = 0; i < n; i++) {
                if (i >= g.length || g[i] != wf[r * n + i]) {
                    rowsWrong++;
                    note.append("; row ").append(r).append(" first differs at new token ").append(i);
                    break;
                }
            }
        }
        return new Check("gen.output", "rows", rowsWrong, 0, note.toString());
    }

    private double logitsTolerance() {
        switch (options.precision) {
            case FLOAT: return LOGITS_TOLERANCE;
            case FLOAT16: return 5e-2;
            default: return 2.5e-1;
        }
    }

    private Check compareLogits(ReferenceCase rc, int chunk, TensorData ids, TensorData want, String key, double tol) {
        progress.accept(key + (chunk > 0 ? " (chunk " + chunk + ")" : ""));
        Graph g = ForwardGraphs.forward(rc.spec(), rc.weights(), chunk, options);
        TensorData got = run(g, Map.of(ForwardGraphs.INPUT_IDS, ids)).get(ForwardGraphs.LOGITS);
        return new Check(key, "abs", Check.maxAbs(got.toFloats(), want.toFloats()), tol,
                "input " + java.util.Arrays.toString(ids.shape()));
    }

    private Map<String, TensorData> run(Graph g, Map<String, TensorData> feeds) {
        try (ModelSession s = OrtRuntime.get().open(new OnnxModel(g).toBytes(), session)) {
            return s.run(feeds);
        }
    }
}
