package org.catonnx.runtime.train;

import org.catonnx.exporter.checkpoint.Checkpoint;
import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.nn.GraphOptions;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.RandomInit;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.TensorData;
import org.catonnx.runtime.ModelSession;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.SessionConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainerTest {
    static TokenShards train() {
        return TokenShards.of("train", TrainTestData.copyCorpus(500, 1), TokenShards.TokenType.UINT16);
    }

    static TokenShards val() {
        return TokenShards.of("val", TrainTestData.copyCorpus(50, 2), TokenShards.TokenType.UINT16);
    }

    /** Training on the copy corpus lowers the held-out loss well below the unigram loss ln(16) = 2.77. */
    @Test
    void denseLearnsToCopy(@TempDir Path dir) throws Exception {
        learnsToCopy("dense", TrainTestData.dense(), 300, 1.5, dir);
    }

    /** Chunk 4: the copied token lies 16 positions (4 chunks) back, reachable only through compressed chunks. */
    @Test
    void catLearnsToCopy(@TempDir Path dir) throws Exception {
        learnsToCopy("cat", TrainTestData.cat(4), 400, 2.70, dir);
    }

    private void learnsToCopy(String label, ModelSpec spec, int steps, double below, Path dir) throws Exception {
        TrainConfig c = new TrainConfig();
        c.steps = steps;
        c.batch = 8;
        c.seqLen = 64;
        c.lr = 3e-3;
        c.warmup = 20;
        c.weightDecay = 0;
        c.evalEvery = 100;
        c.evalWindows = 32;
        TokenShards val = val();
        long t0 = System.nanoTime();
        try (Trainer t = Trainer.create(spec, new RandomInit(spec, 1), c, train(), val, SessionConfig.defaults(), dir)) {
            double before = t.evaluate();
            double[] tokS = new double[1];
            t.train(new Trainer.Listener() {
                @Override public void onStep(Trainer.StepInfo s) { tokS[0] += s.tokensPerSecond() / steps; }
                @Override public void onEval(int step, double loss) { System.out.printf("  %s step %d: held-out loss %.4f%n", label, step, loss); }
            });
            double after = t.evaluate();
            System.out.printf("%s %s: held-out loss %.4f -> %.4f after %d steps (unigram ln16 = %.4f, copying bound ~%.2f), %.0f tokens/s, %.1f s%n",
                    label, spec, before, after, steps, Math.log(16), Math.log(16) / TrainTestData.REPEATS, tokS[0], (System.nanoTime() - t0) / 1e9);
            assertTrue(after < before - 0.8, "held-out loss " + before + " -> " + after);
            assertTrue(after < below, "held-out loss " + after + " not below " + below);

            // the trained weights load back into the inference graphs and give the same loss
            t.exportModel(dir.resolve("model.safetensors"), dir.resolve("config.json"));
            ModelSpec loaded = ModelSpec.load(dir.resolve("config.json"));
            TokenShards.Batch b = val.sequentialBatch(0, 4, c.seqLen);
            float[] logits;
            try (Checkpoint w = Checkpoint.open(dir.resolve("model.safetensors"));
                 ModelSession s = OrtRuntime.get().open(new OnnxModel(ForwardGraphs.forward(loaded, w, loaded.chunkSize(), GraphOptions.defaults())).toBytes(),
                         SessionConfig.defaults())) {
                logits = s.run(Map.of("input_ids", b.inputIds())).get("logits").toFloats();
            }
            long[] labels = b.labels().toLongs();
            int V = loaded.paddedVocabSize();
            double nll = 0;
            for (int i = 0; i < labels.length; i++) {
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int k = 0; k < V; k++) max = Math.max(max, logits[i * V + k]);
                for (int k = 0; k < V; k++) sum += Math.exp(logits[i * V + k] - max);
                nll += -(logits[i * V + (int) labels[i]] - max - Math.log(sum));
            }
            nll /= labels.length;
            double trainerLoss = t.evaluate(val, 4);
            System.out.printf("  exported %s weights: forward-graph loss %.6f vs trainer %.6f%n", label, nll, trainerLoss);
            assertEquals(trainerLoss, nll, 1e-4);
            assertTrue(Files.exists(dir.resolve(String.format("ckpt-%08d.safetensors", steps))));
        }
    }

    /** K steps uninterrupted equal k steps, a checkpoint, a fresh process state resumed from it, and K - k more. */
    @Test
    void resumeContinuesExactly(@TempDir Path dir) throws Exception {
        resume("adaptive", TrainTestData.catAdaptive(8), new int[] {1, 2, 3}, dir.resolve("a"));
        resume("dense", TrainTestData.dense(), new int[0], dir.resolve("d"));
    }

    private void resume(String label, ModelSpec spec, int[] powers, Path dir) throws Exception {
        TrainConfig c = new TrainConfig();
        c.steps = 8;
        c.batch = 2;
        c.accumulate = 2;
        c.seqLen = 64;
        c.lr = 5e-3;
        c.warmup = 2;
        c.clip = 0.5;
        c.weightDecay = 0.1;
        c.chunkPowers = powers;
        c.seed = 100; // draws chunks 4, 8 and 2 in the first steps
        int k = 3;
        Map<String, TensorData> straight, straightM;
        int[] chunksStraight = new int[c.steps], chunksResumed = new int[c.steps];
        try (Trainer t = Trainer.create(spec, new RandomInit(spec, 5), c, train(), null, SessionConfig.defaults(), null)) {
            t.train(s -> chunksStraight[s.step() - 1] = s.chunk());
            straight = Map.copyOf(t.parameters());
            straightM = Map.copyOf(t.secondMoments());
        }
        TrainConfig ck = c.copy();
        ck.checkpointEvery = k;
        try (Trainer t = Trainer.create(spec, new RandomInit(spec, 5), ck, train(), null, SessionConfig.defaults(), dir)) {
            t.train(k, s -> chunksResumed[s.step() - 1] = s.chunk());
        }
        assertEquals(Path.of(String.format("ckpt-%08d.safetensors", k)), Trainer.latestCheckpoint(dir).orElseThrow().getFileName());
        try (Trainer t = Trainer.resume(dir, train(), null, SessionConfig.defaults(), dir, 0)) {
            assertEquals(k, t.step());
            t.train(s -> chunksResumed[s.step() - 1] = s.chunk());
            assertEquals(c.steps, t.step());
            assertArrayEquals(chunksStraight, chunksResumed);
            if (powers.length > 0) assertEquals(powers.length, Arrays.stream(chunksStraight).distinct().count(), Arrays.toString(chunksStraight));
            double worst = 0;
            for (String n : straight.keySet()) {
                float[] a = straight.get(n).toFloats(), b = t.parameters().get(n).toFloats();
                float[] am = straightM.get(n).toFloats(), bm = t.secondMoments().get(n).toFloats();
                for (int i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
                assertArrayEquals(a, b, 1e-7f, n);
                assertArrayEquals(am, bm, 1e-12f, "adam.v." + n);
            }
            System.out.printf("resume %s: %d parameters tensors, chunks %s, max |uninterrupted - resumed| = %.3e%n",
                    label, straight.size(), Arrays.toString(chunksStraight), worst);
        }
    }
}
