package org.catonnx.graphs;

import org.catonnx.nn.GraphOptions;
import org.catonnx.models.LanguageModel;
import org.catonnx.models.ModelSpec;
import org.catonnx.nn.BuildContext;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Value;

/**
 * Full-forward graphs: input_ids [batch, seq] (int64) -> logits [batch, seq, V] (float32),
 * and the loss graph: input_ids, labels -> loss (mean cross-entropy, ignore_index -100).
 */
public final class ForwardGraphs {
    public static final String INPUT_IDS = "input_ids";
    public static final String LABELS = "labels";
    public static final String LOGITS = "logits";
    public static final String LOSS = "loss";
    public static final long IGNORE_INDEX = -100;

    private ForwardGraphs() {}

    /** @param chunk chunk size to build for (adaptive CAT: any power of two up to the trained one; 0 = default) */
    public static Graph forward(ModelSpec spec, WeightSource weights, int chunk, GraphOptions o) {
        Graph g = Graph.create(name(spec, chunk, "forward"));
        BuildContext c = new BuildContext(g, weights, o);
        Value ids = g.input(INPUT_IDS, DType.INT64, "batch", "seq");
        Value logits = LanguageModel.of(spec, c, chunk).forward(ids);
        g.output(LOGITS, g.cast(logits, c.accumulate()));
        return g;
    }

    public static Graph loss(ModelSpec spec, WeightSource weights, int chunk, GraphOptions o) {
        Graph g = Graph.create(name(spec, chunk, "loss"));
        BuildContext c = new BuildContext(g, weights, o);
        Value ids = g.input(INPUT_IDS, DType.INT64, "batch", "seq");
        Value labels = g.input(LABELS, DType.INT64, "batch", "seq");
        Value logits = LanguageModel.of(spec, c, chunk).forward(ids);
        g.output(LOSS, meanCrossEntropy(c, logits, labels));
        return g;
    }

    /** Mean over positions whose label is not -100 of -log softmax(logits)[label], in float32. */
    public static Value meanCrossEntropy(BuildContext c, Value logits, Value labels) {
        Graph g = c.g;
        try (Graph.Scope s = g.scope("loss")) {
            Value logp = g.logSoftmax(g.cast(logits, c.accumulate()), -1);
            Value valid = g.not(g.equal(labels, g.scalarInt64(IGNORE_INDEX)));
            Value safe = g.where(valid, labels, g.scalarInt64(0));
            Value picked = g.squeeze(g.gatherElements(logp, g.unsqueeze(safe, -1), -1), -1);
            Value w = g.cast(valid, c.accumulate());
            Value total = g.reduceSum(g.mul(picked, w), false);
            return g.neg(g.div(total, g.reduceSum(w, false)));
        }
    }

    static String name(ModelSpec spec, int chunk, String kind) {
        return spec.variant.id + (chunk > 0 ? "_c" + chunk : "") + "_" + kind;
    }
}
