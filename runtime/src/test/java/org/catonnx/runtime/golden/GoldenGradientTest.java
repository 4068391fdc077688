package org.catonnx.runtime.golden;

import org.catonnx.exporter.reference.ReferenceCase;
import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.nn.GraphOptions;
import org.catonnx.graphs.TrainingGraphs;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Node;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.TensorData;
import org.catonnx.runtime.ModelSession;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.SessionConfig;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Gradients of the loss graph by our reverse-mode differentiation against the reference's
 * PyTorch gradients (float32), and one AdamW training step against a plain-Java AdamW.
 */
class GoldenGradientTest {
    static Path golden() {
        String shared = System.getProperty("catonnx.shared");
        Path p = shared != null ? Path.of(shared, "golden") : null;
        if (p == null || !Files.isDirectory(p)) p = Path.of("/work/shared/golden");
        return p;
    }

    static ReferenceCase open(String name) throws Exception {
        Path dir = golden().resolve(name);
        Assumptions.assumeTrue(Files.isDirectory(dir), "no golden case " + dir);
        return ReferenceCase.open(dir);
    }

    @ParameterizedTest
    @ValueSource(strings = {"transformer", "cat_c4", "cat_c8_qknorm", "cat_adaptive_c8", "cat_layer_c4"})
    void gradientsMatchReference(String name) throws Exception {
        try (ReferenceCase rc = open(name)) {
            int chunk = rc.spec().chunkSize();
            Graph lossGraph = ForwardGraphs.loss(rc.spec(), rc.weights(), chunk, GraphOptions.defaults());
            TreeSet<String> ops = new TreeSet<>();
            for (Node n : lossGraph.nodes()) ops.add(n.op.onnxType);
            Graph g = TrainingGraphs.addGradients(lossGraph);
            Map<String, TensorData> out;
            try (ModelSession s = OrtRuntime.get().open(new OnnxModel(g).toBytes(), SessionConfig.defaults())) {
                out = s.run(Map.of("input_ids", rc.require("input_ids"), "labels", rc.require("labels")));
            }
            float loss = out.get("loss").toFloats()[0];
            float refLoss = rc.require("loss").toFloats()[0];
            double lossRel = Math.abs(loss - refLoss) / Math.abs(refLoss);

            List<String> params = TrainingGraphs.parameterNames(g);
            List<String> failures = new ArrayList<>();
            double worst = 0;
            String worstName = null;
            int compared = 0;
            for (String key : rc.ioNames()) {
                if (!key.startsWith("grad.")) continue;
                TensorData ours = out.get(key);
                if (ours == null) {
                    failures.add(key + ": no such output (parameters: " + params.size() + ")");
                    continue;
                }
                float[] a = ours.toFloats(), b = rc.require(key).toFloats();
                if (a.length != b.length) {
                    failures.add(key + ": " + a.length + " elements vs " + b.length);
                    continue;
                }
                double maxErr = 0, maxRef = 0;
                for (int i = 0; i < a.length; i++) {
                    maxErr = Math.max(maxErr, Math.abs(a[i] - b[i]));
                    maxRef = Math.max(maxRef, Math.abs(b[i]));
                }
                double rel = maxRef == 0 ? maxErr : maxErr / maxRef;
                compared++;
                if (rel > worst) {
                    worst = rel;
                    worstName = key;
                }
                if (!(rel <= 1e-4)) failures.add(key + ": max abs err " + maxErr + " / max abs " + maxRef + " = " + rel);
            }
            for (String p : params) {
                if (rc.io("grad." + p).isEmpty()) failures.add("grad." + p + ": no reference gradient");
            }
            System.out.printf("%s: loss %.7f vs %.7f (rel %.2e), %d grads, max relative error %.3e (%s); %d nodes, ops %s%n",
                    name, loss, refLoss, lossRel, compared, worst, worstName, g.nodes().size(), ops);
            assertTrue(lossRel <= 1e-5, "loss " + loss + " vs " + refLoss);
            if (!failures.isEmpty()) fail(name + ":\n  " + String.join("\n  ", failures));
        }
    }

    /** One AdamW step (with clipping) on the transformer case equals a plain-Java AdamW on the same gradients. */
    @Test
    void adamWStepMatchesJava() throws Exception {
        try (ReferenceCase rc = open("transformer")) {
            int chunk = rc.spec().chunkSize();
            Map<String, TensorData> feed = new HashMap<>();
            feed.put("input_ids", rc.require("input_ids"));
            feed.put("labels", rc.require("labels"));
            Graph gg = TrainingGraphs.gradients(rc.spec(), rc.weights(), chunk, GraphOptions.defaults());
            Map<String, TensorData> grads;
            try (ModelSession s = OrtRuntime.get().open(new OnnxModel(gg).toBytes(), SessionConfig.defaults())) {
                grads = s.run(feed);
            }
            TrainingGraphs.AdamW opt = TrainingGraphs.AdamW.defaults().withBetas(0.9, 0.95).withWeightDecay(0.1)
                    .withMaxGradNorm(0.5).withDecays(n -> !n.contains("norm"));
            Graph step = TrainingGraphs.trainingStep(rc.spec(), rc.weights(), chunk, GraphOptions.defaults(), opt);
            List<String> names = new ArrayList<>();
            for (String k : grads.keySet()) if (k.startsWith("grad.")) names.add(k.substring(5));
            Random rnd = new Random(7);
            long t = 3;
            float lr = 3e-3f;
            Map<String, float[]> m = new HashMap<>(), v = new HashMap<>();
            for (String n : names) {
                TensorData p = rc.weights().tensor(n);
                float[] mm = new float[(int) p.numElements()], vv = new float[mm.length];
                for (int i = 0; i < mm.length; i++) {
                    mm[i] = (float) (rnd.nextGaussian() * 1e-3);
                    vv[i] = (float) (rnd.nextDouble() * 1e-5);
                }
                m.put(n, mm);
                v.put(n, vv);
                feed.put(n, p);
                feed.put("adam.m." + n, TensorData.ofFloats(mm, p.shape()));
                feed.put("adam.v." + n, TensorData.ofFloats(vv, p.shape()));
            }
            feed.put("step", TensorData.ofLongs(new long[] {t}));
            feed.put("lr", TensorData.ofFloats(new float[] {lr}));
            Map<String, TensorData> out;
            try (ModelSession s = OrtRuntime.get().open(new OnnxModel(step).toBytes(), SessionConfig.defaults())) {
                out = s.run(feed);
            }
            assertEquals(grads.get("loss").toFloats()[0], out.get("loss").toFloats()[0], 1e-6);
            // plain Java AdamW (float64) with torch's clip_grad_norm_
            double sq = 0;
            for (String n : names) for (float x : grads.get("grad." + n).toFloats()) sq += (double) x * x;
            double norm = Math.sqrt(sq);
            assertEquals(norm, out.get("grad_norm").toFloats()[0], 1e-5 * norm);
            double clip = Math.min(1.0, opt.maxGradNorm / (norm + 1e-6));
            double bc1 = 1 - Math.pow(opt.beta1, t), bc2 = 1 - Math.pow(opt.beta2, t);
            double worst = 0;
            for (String n : names) {
                float[] p = rc.weights().tensor(n).toFloats(), gr = grads.get("grad." + n).toFloats();
                float[] np = out.get("new." + n).toFloats(), nm = out.get("new.adam.m." + n).toFloats(),
                        nv = out.get("new.adam.v." + n).toFloats();
                for (int i = 0; i < p.length; i++) {
                    double gi = gr[i] * clip;
                    double mi = opt.beta1 * m.get(n)[i] + (1 - opt.beta1) * gi;
                    double vi = opt.beta2 * v.get(n)[i] + (1 - opt.beta2) * gi * gi;
                    double pi = p[i] * (opt.decays.test(n) ? 1 - lr * opt.weightDecay : 1);
                    pi -= lr / bc1 * mi / (Math.sqrt(vi) / Math.sqrt(bc2) + opt.eps);
                    worst = Math.max(worst, Math.abs(pi - np[i]));
                    assertEquals(mi, nm[i], 1e-6, n + " m[" + i + "]");
                    assertEquals(vi, nv[i], 1e-6, n + " v[" + i + "]");
                    assertEquals(pi, np[i], 1e-6, n + " p[" + i + "]");
                }
            }
            System.out.printf("AdamW step: grad norm %.5f, clip %.4f, max |param - java| %.3e%n", norm, clip, worst);
        }
    }
}
