package org.catonnx.runtime.bound;

import org.catonnx.graphs.FixedStepGraphs;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Variant;
import org.catonnx.nn.GraphOptions;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.runtime.InferenceException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Greedy generation one token per session run, through bound sessions of the fixed-shape step
 * graphs ({@link FixedStepGraphs}): every cache, the token ids and the summary stay in buffers
 * this class owns (GPU memory on CUDA), each cache bound as both past and present so
 * the attention operator (GroupQueryAttention, or CatDecodeAttention with attention form custom) appends in place, and with CUDA graphs on each run is one graph replay.
 * Per token the host only writes the 3-element step input and copies the picked ids on the
 * device (to the next step's input, the current chunk and the output rows).
 *
 * <p>CAT follows the step decoder (CAT.md section 4): the dummy summary first, then every token
 * of the prompt and of the output; when a chunk is full it is compressed and its summary fed
 * (its logits pick the next chunk's first token). Batch and dtype are fixed when it is built.
 */
public final class BoundGenerator implements AutoCloseable {
    private final BoundRuntime rt;
    private final ModelSpec spec;
    private final int chunk, batch, slots;
    private final Path dir;
    private final List<BoundBuffer> owned = new ArrayList<>();
    // set in order by open(); close() releases whatever a failed open got to
    private BoundSession step, compress;
    private BoundBuffer ids, next, control, chunkIds, chunkIndex;
    private boolean closed, usesCustomOps;
    private final long[] nanos = new long[Phase.values().length];
    private final long[] calls = new long[Phase.values().length];

    /** Where a generation's wall time went (host clock; each run returns when its GPU work is done). */
    public enum Phase { STEP, COMPRESS, TRANSFER }

    private BoundGenerator(BoundRuntime rt, ModelSpec spec, int chunk, int batch, Path dir) {
        this.rt = rt;
        this.spec = spec;
        this.chunk = chunk;
        this.batch = batch;
        this.dir = dir;
        this.slots = FixedStepGraphs.slots(spec, chunk);
    }

    /** Opens the step (and for CAT the compress) graph files and binds their buffers. */
    private void bind(Path stepGraph, Path compressGraph, DType precision, BoundSession.Options so) {
        boolean cat = spec.variant == Variant.CAT;
        BoundSession.Options withOps = usesCustomOps ? so.withCustomOpLibrary(rt.customOpLibrary()) : so;
        step = rt.open(stepGraph, withOps);
        compress = cat ? rt.open(compressGraph, withOps) : null;
        ids = buffer(DType.INT64, batch, 1);
        next = buffer(DType.INT64, batch, 1);   // not ids itself: ORT runs a step several times while it captures a CUDA graph
        control = buffer(DType.INT64, 3);
        step.bindInput(org.catonnx.graphs.ForwardGraphs.INPUT_IDS, ids);
        step.bindOutput(FixedStepGraphs.NEXT_TOKEN, next);
        step.bindInput(FixedStepGraphs.STEP, control);
        int kv = spec.decoder.nLocalHeads, hd = spec.decoder.headDim;
        for (int i = 0; i < spec.decoder.nLayer; i++) {
            for (String part : new String[] {"k", "v"}) {
                BoundBuffer c = buffer(precision, batch, kv, slots, hd);
                step.bindInput(FixedStepGraphs.past(i, part), c);
                step.bindOutput(FixedStepGraphs.present(i, part), c);
            }
        }
        if (cat) {
            BoundBuffer summary = buffer(precision, batch, 1, spec.decoder.dim);
            chunkIds = buffer(DType.INT64, chunk, batch);
            chunkIndex = buffer(DType.INT64, 1);
            step.bindInput(FixedStepGraphs.SUMMARY, summary);
            compress.bindInput(FixedStepGraphs.CHUNK_IDS, chunkIds);
            compress.bindInput(FixedStepGraphs.CHUNK_INDEX, chunkIndex);
            compress.bindOutput(FixedStepGraphs.SUMMARY, summary);
        }
    }

    /**
     * Builds the step graphs (written to a temporary folder, removed on close) and opens them.
     * @param chunk CAT's chunk size (0 for the dense model)
     */
    public static BoundGenerator open(BoundRuntime rt, ModelSpec spec, WeightSource w, int chunk, int batch, GraphOptions o,
                                      BoundSession.Options so) {
        int c = check(spec, chunk, batch);
        Path dir;
        try {
            dir = Files.createTempDirectory("catonnx-bound");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a folder for the step graphs: " + e.getMessage(), e);
        }
        BoundGenerator g = new BoundGenerator(rt, spec, c, batch, dir);
        return g.openOrClose(() -> {
            boolean cat = spec.variant == Variant.CAT;
            Path stepGraph = g.write(cat ? FixedStepGraphs.catStep(spec, w, c, batch, o) : FixedStepGraphs.denseStep(spec, w, batch, o));
            Path compressGraph = cat ? g.write(FixedStepGraphs.catCompress(spec, w, c, batch, o)) : null;
            g.bind(stepGraph, compressGraph, o.precision, so);
        });
    }

    /**
     * Opens step graphs that already exist (a bundle's {@code fixed_step} / {@code fixed_compress},
     * exported for this batch), e.g. next to their shared weights file.
     * @param compressGraph CAT's compress graph; null for the dense model
     * @param usesCustomOps the graphs use our operators (attention form custom)
     */
    public static BoundGenerator open(BoundRuntime rt, ModelSpec spec, int chunk, int batch, DType precision, Path stepGraph,
                                      Path compressGraph, boolean usesCustomOps, BoundSession.Options so) {
        int c = check(spec, chunk, batch);
        if (spec.variant == Variant.CAT && compressGraph == null) throw new IllegalArgumentException("a CAT model needs its compress graph");
        BoundGenerator g = new BoundGenerator(rt, spec, c, batch, null);
        g.usesCustomOps = usesCustomOps;
        return g.openOrClose(() -> g.bind(stepGraph, compressGraph, precision, so));
    }

    private interface Opening { void run() throws IOException; }

    private BoundGenerator openOrClose(Opening opening) {
        try {
            opening.run();
            return this;
        } catch (IOException e) {
            close();
            throw new UncheckedIOException("cannot write the step graphs: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** The model and sizes bound generation supports; returns the chunk to use (0 for dense). */
    private static int check(ModelSpec spec, int chunk, int batch) {
        if (spec.variant != Variant.CAT && spec.variant != Variant.TRANSFORMER) {
            throw new IllegalArgumentException("bound generation runs fixed-chunk CAT and the dense model, not " + spec.variant.id);
        }
        if (batch < 1) throw new IllegalArgumentException("batch must be at least 1, got " + batch);
        if (spec.variant == Variant.CAT && chunk != spec.chunkSize()) {
            throw new IllegalArgumentException("this CAT model has chunk size " + spec.chunkSize() + ", not " + chunk);
        }
        return spec.variant == Variant.CAT ? chunk : 0;
    }

    public int batch() { return batch; }

    /**
     * Greedy continuations of equal-length prompts, one per batch row.
     * @return maxNew tokens per row
     */
    public List<long[]> generate(List<long[]> prompts, int maxNew) {
        if (closed) throw new IllegalStateException("generator is closed");
        int p = checkPrompts(prompts, maxNew);
        BoundBuffer out = buffer(DType.INT64, Math.max(1, maxNew), batch);
        try {
            if (maxNew > 0) decode(prompts, p, maxNew, out);
            long[] flat = maxNew > 0 ? out.readLongs(0, maxNew * batch) : new long[0];
            List<long[]> rows = new ArrayList<>();
            for (int b = 0; b < batch; b++) {
                long[] r = new long[maxNew];
                for (int i = 0; i < maxNew; i++) r[i] = flat[i * batch + b];
                rows.add(r);
            }
            return rows;
        } finally {
            owned.remove(out);
            out.close();
        }
    }

    private void decode(List<long[]> prompts, int p, int maxNew, BoundBuffer out) {
        java.util.Arrays.fill(nanos, 0);
        java.util.Arrays.fill(calls, 0);
        boolean cat = compress != null;
        int summaries = 0, local = 0;
        if (cat) {
            run(FixedStepGraphs.FEED_DUMMY, 0, 0);
            summaries = 1;
        }
        long[] column = new long[batch];
        for (int n = 0, made = 0; made < maxNew; n++) {
            long t0 = System.nanoTime();
            if (n < p) {                                     // forced prompt token; otherwise the last pick
                for (int b = 0; b < batch; b++) column[b] = prompts.get(b)[n];
                ids.write(column, 0);
            } else {
                ids.copyFrom(next, 0, 0, batch);
            }
            if (cat) chunkIds.copyFrom(ids, 0, (long) local * batch, batch);
            count(Phase.TRANSFER, t0);
            if (cat) {
                // a chunk's last token is only compressed: its own prediction is the summary's
                // (CAT.md section 3) and no later query sees its key, so that step is skipped
                if (local + 1 < chunk) run(FixedStepGraphs.FEED_TOKEN, local + 1, summaries + local);
                if (++local == chunk) {
                    long t1 = System.nanoTime();
                    chunkIndex.write(new long[] {summaries - 1}, 0);
                    compress.run();
                    count(Phase.COMPRESS, t1);
                    run(FixedStepGraphs.FEED_SUMMARY, 0, summaries);   // over the chunk's first slot
                    summaries++;
                    local = 0;
                }
            } else {
                run(FixedStepGraphs.FEED_TOKEN, n, n);
            }
            long t2 = System.nanoTime();
            if (n + 1 >= p) out.copyFrom(next, 0, (long) made++ * batch, batch);
            count(Phase.TRANSFER, t2);
        }
    }

    private void run(long mode, long position, long slot) {
        long t0 = System.nanoTime();
        control.write(new long[] {mode, position, slot}, 0);
        count(Phase.TRANSFER, t0);
        long t1 = System.nanoTime();
        step.run();
        count(Phase.STEP, t1);
    }

    private void count(Phase phase, long since) {
        nanos[phase.ordinal()] += System.nanoTime() - since;
        calls[phase.ordinal()]++;
    }

    /** Seconds spent in each phase during the last {@link #generate} call. */
    public double seconds(Phase phase) { return nanos[phase.ordinal()] / 1e9; }

    /** Calls (session runs, or transfer groups) of each phase during the last {@link #generate} call. */
    public long calls(Phase phase) { return calls[phase.ordinal()]; }

    /** Equal-length prompts, one per row, ids in the vocabulary, and room for the output; returns the length. */
    private int checkPrompts(List<long[]> prompts, int maxNew) {
        if (prompts.size() != batch) throw new IllegalArgumentException("this generator was built for batch " + batch + ", got " + prompts.size() + " prompts");
        if (maxNew < 0) throw new IllegalArgumentException("max new tokens must be >= 0, got " + maxNew);
        int p = prompts.get(0).length;
        if (p == 0) throw new IllegalArgumentException("prompts must not be empty");
        for (int b = 0; b < batch; b++) {
            long[] r = prompts.get(b);
            if (r.length != p) throw new IllegalArgumentException("prompts must have equal lengths (row 0 has " + p + ", row " + b + " has " + r.length + ")");
            for (int i = 0; i < p; i++) {
                if (r[i] < 0 || r[i] >= spec.vocabSize()) {
                    throw new IllegalArgumentException("token id " + r[i] + " at row " + b + ", position " + i + " is outside the vocabulary [0, " + spec.vocabSize() + ")");
                }
            }
        }
        if (p + maxNew > spec.blockSize()) {
            throw new IllegalArgumentException("prompt (" + p + ") + new tokens (" + maxNew + ") exceed block_size " + spec.blockSize());
        }
        return p;
    }

    private BoundBuffer buffer(DType type, long... shape) {
        BoundBuffer b = rt.allocate(type, shape);
        owned.add(b);
        return b;
    }

    /** Writes a graph for ONNX Runtime into the temporary folder, noting whether it uses our operators. */
    private Path write(Graph g) throws IOException {
        Path f = dir.resolve(g.name() + ".onnx");
        OnnxModel model = new OnnxModel(g);
        Files.write(f, model.toBytes());
        usesCustomOps |= model.usesCustomOps();
        return f;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        RuntimeException first = null;
        for (AutoCloseable c : new AutoCloseable[] {step, compress}) {
            try {
                if (c != null) c.close();
            } catch (Exception e) {
                if (first == null) first = new InferenceException("closing a bound session failed", e);
            }
        }
        owned.forEach(BoundBuffer::close);
        deleteTree(dir);
        if (first != null) throw first;
    }

    private static void deleteTree(Path dir) {
        if (dir == null) return;
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // a leftover temporary folder is harmless
        }
    }
}
