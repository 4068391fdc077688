package org.catonnx.runtime.generate;

import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.graphs.GenerationLoopGraphs;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Variant;
import org.catonnx.onnx.TensorData;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Generates continuations for a batch of prompts with a cached decoder. Prompts of equal
 * length run in lockstep as one batch; different lengths run as separate batches (CAT chunk
 * boundaries are positional, so rows of different lengths cannot share a step).
 */
public final class Generator implements AutoCloseable {
    private final ModelSpec spec;
    private final int chunk;
    private final DecodeSessions sessions;

    public Generator(ModelSpec spec, int chunk, DecodeSessions sessions) {
        this.spec = spec;
        this.chunk = chunk;
        this.sessions = sessions;
    }

    public ModelSpec spec() { return spec; }
    public int chunk() { return chunk; }

    public List<long[]> generate(List<long[]> prompts, GenerationConfig cfg, TokenListener listener) {
        validate(prompts, cfg);
        Sampler sampler = new Sampler(cfg, spec.vocabSize());
        Map<Integer, List<Integer>> byLength = new LinkedHashMap<>();
        for (int i = 0; i < prompts.size(); i++) byLength.computeIfAbsent(prompts.get(i).length, k -> new ArrayList<>()).add(i);
        long[][] results = new long[prompts.size()][];
        for (List<Integer> group : byLength.values()) {
            long[][] batch = new long[group.size()][];
            for (int r = 0; r < batch.length; r++) batch[r] = prompts.get(group.get(r));
            long[][] out = runBatch(batch, cfg, sampler, (row, step, token) -> listener.onToken(group.get(row), step, token));
            for (int r = 0; r < batch.length; r++) results[group.get(r)] = out[r];
        }
        return Arrays.asList(results);
    }

    private long[][] runBatch(long[][] prompts, GenerationConfig cfg, Sampler sampler, TokenListener listener) {
        int b = prompts.length, v = spec.paddedVocabSize();
        int room = spec.blockSize() - prompts[0].length;
        int steps = Math.min(cfg.maxNewTokens, room);
        List<List<Long>> out = new ArrayList<>();
        boolean[] done = new boolean[b];
        for (int r = 0; r < b; r++) out.add(new ArrayList<>());
        if (cfg.inGraphLoop) {
            if (!sessions.has(DecodeSessions.LOOP)) {
                throw new IllegalArgumentException("no in-graph generation loop loaded for this " + spec.variant.id + " model");
            }
            return inGraphLoop(prompts, steps, cfg, listener);
        }
        try (Stepper s = stepper()) {
            float[] logits = s.start(prompts);
            for (int step = 0; step < steps; step++) {
                long[] next = new long[b];
                boolean all = true;
                for (int r = 0; r < b; r++) {
                    next[r] = sampler.pick(logits, r * v);
                    if (done[r]) continue;
                    out.get(r).add(next[r]);
                    listener.onToken(r, step, next[r]);
                    if (cfg.stopTokens.contains(next[r])) done[r] = true;
                    all &= done[r];
                }
                if (all || step == steps - 1) break;
                logits = s.next(next);
            }
        }
        long[][] res = new long[b][];
        for (int r = 0; r < b; r++) res[r] = out.get(r).stream().mapToLong(Long::longValue).toArray();
        return res;
    }

    /** One session run prefills the prompts and generates every token; stop tokens cut each row afterwards. */
    private long[][] inGraphLoop(long[][] prompts, int steps, GenerationConfig cfg, TokenListener listener) {
        Map<String, TensorData> in = Map.of(ForwardGraphs.INPUT_IDS, ids(prompts, 0, prompts[0].length),
                GenerationLoopGraphs.MAX_NEW_TOKENS, TensorData.ofLongs(new long[] {steps}));
        TensorData tokens = sessions.get(DecodeSessions.LOOP).run(in).get(GenerationLoopGraphs.TOKENS);
        int b = (int) tokens.dim(0), n = (int) tokens.dim(1);
        long[] flat = tokens.toLongs();
        long[][] res = new long[b][];
        for (int r = 0; r < b; r++) {
            int len = 0;
            while (len < n) {
                long t = flat[r * n + len];
                listener.onToken(r, len, t);
                len++;
                if (cfg.stopTokens.contains(t)) break;
            }
            res[r] = Arrays.copyOfRange(flat, r * n, r * n + len);
        }
        return res;
    }

    private Stepper stepper() {
        switch (spec.variant) {
            case TRANSFORMER: return new DenseStepper(spec, sessions);
            case CAT_LAYER: return new LayerStepper(spec, sessions);
            default: return new CatStepper(spec, chunk, sessions);
        }
    }

    /** Everything a caller passes is checked here, before any session runs. */
    private void validate(List<long[]> prompts, GenerationConfig cfg) {
        if (prompts == null || prompts.isEmpty()) throw new IllegalArgumentException("no prompts given");
        if (prompts.size() > cfg.maxBatch) {
            throw new IllegalArgumentException(prompts.size() + " prompts exceed the batch limit of " + cfg.maxBatch
                    + " (allowed: 1.." + cfg.maxBatch + " prompts per call; raise it with GenerationConfig.withMaxBatch / --max-batch)");
        }
        for (int i = 0; i < prompts.size(); i++) {
            long[] p = prompts.get(i);
            if (p == null || p.length == 0) throw new IllegalArgumentException("prompt " + i + " is empty: give at least one token");
            if (p.length >= spec.blockSize()) {
                throw new IllegalArgumentException("prompt " + i + " has " + p.length + " tokens; the model's context is "
                        + spec.blockSize() + " tokens, so a prompt may have at most " + (spec.blockSize() - 1));
            }
            for (long t : p) {
                if (t < 0 || t >= spec.vocabSize()) {
                    throw new IllegalArgumentException("prompt " + i + " has token id " + t + "; allowed ids are 0.." + (spec.vocabSize() - 1));
                }
            }
        }
    }

    /**
     * The cached decoder's logits along a given sequence (teacher forcing): row 0 after the
     * prompt, row i after the prompt and continuation[0..i-1]. For checking the decode graphs
     * against the full forward at the same positions.
     */
    public float[][] teacherForcedLogits(long[] prompt, long[] continuation) {
        validate(java.util.List.of(prompt), GenerationConfig.greedy(Math.max(1, continuation.length)));
        if (prompt.length + continuation.length > spec.blockSize()) {
            throw new IllegalArgumentException("prompt and continuation have " + (prompt.length + continuation.length)
                    + " tokens; the model's context is " + spec.blockSize());
        }
        float[][] out = new float[continuation.length + 1][];
        try (Stepper s = stepper()) {
            out[0] = s.start(new long[][] {prompt});
            for (int i = 0; i < continuation.length; i++) out[i + 1] = s.next(new long[] {continuation[i]});
        }
        return out;
    }

    /** Rows of the last position of logits [B, n, V] as [B * V]. */
    static float[] lastPosition(TensorData logits) {
        long[] s = logits.shape();
        int b = (int) s[0], n = (int) s[1], v = (int) s[2];
        float[] all = logits.toFloats();
        float[] out = new float[b * v];
        for (int r = 0; r < b; r++) System.arraycopy(all, (r * n + n - 1) * v, out, r * v, v);
        return out;
    }

    static TensorData ids(long[][] rows, int from, int to) {
        int b = rows.length, n = to - from;
        long[] flat = new long[b * n];
        for (int r = 0; r < b; r++) System.arraycopy(rows[r], from, flat, r * n, n);
        return TensorData.ofLongs(flat, b, n);
    }

    @Override
    public void close() {
        sessions.close();
    }
}
