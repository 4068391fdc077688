package org.catonnx.runtime.bench;

import org.catonnx.runtime.CustomOps;
import org.catonnx.nn.AttentionForm;
import org.catonnx.nn.GraphOptions;
import org.catonnx.models.ModelConfig;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.RandomInit;
import org.catonnx.runtime.Device;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.SessionConfig;
import org.catonnx.runtime.bound.BoundGenerator;
import org.catonnx.runtime.bound.BoundRuntime;
import org.catonnx.runtime.bound.BoundSession;
import org.catonnx.runtime.generate.DecodeSessions;
import org.catonnx.runtime.generate.GenerationConfig;
import org.catonnx.runtime.generate.Generator;
import org.catonnx.runtime.generate.TokenListener;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Generation throughput and cache memory of CAT at several chunk sizes against the dense
 * baseline of equal depth, all measured in one run. Shapes follow the paper's ratios: the CAT
 * decoder is twice as wide (and has twice the heads) as the dense model, its compressor is as
 * wide as the dense model with a quarter of the layers. Weights are random (reference init).
 */
public final class GenerationBenchmark {
    /** What to measure. */
    public static final class Settings {
        public int dim = 64, heads = 4, layers = 4, vocab = 512, context = 2048, prompt = 8, newTokens = 0;
        public int[] batches = {1, 16};
        public int[] chunks = {4, 8, 16, 32};
        public boolean step = true, loop = true;
        /** bound mode (BoundGenerator): fixed-shape step graphs over device-resident buffers; cudaGraph replays them on CUDA */
        public boolean bound = false, cudaGraph = true;
        /** bound mode on CUDA: sessions allocate from the runtime's device pool (BoundSession.Options.devicePool) */
        public boolean devicePool = true;
        /** include the dense baseline (off to measure CAT alone, e.g. for its own peak memory) */
        public boolean dense = true;
        public GraphOptions options = GraphOptions.defaults();
        public SessionConfig session = SessionConfig.defaults();

        int generated() {
            return newTokens > 0 ? Math.min(newTokens, context - prompt) : context - prompt;
        }
    }

    /** One measurement; chunk 0 is the dense model. */
    public static final class Row {
        public final String model;
        public final int chunk;
        public final int batch;
        public final String mode;
        public final int newTokens;
        public final double seconds;
        public final long cacheBytes;
        /** Peak of the device pool's allocated bytes over the run (as torch.cuda.max_memory_allocated); -1: not counted. */
        public final long peakAllocatedBytes;

        public Row(String model, int chunk, int batch, String mode, int newTokens, double seconds, long cacheBytes) {
            this(model, chunk, batch, mode, newTokens, seconds, cacheBytes, -1);
        }

        public Row(String model, int chunk, int batch, String mode, int newTokens, double seconds, long cacheBytes,
                   long peakAllocatedBytes) {
            this.model = model;
            this.chunk = chunk;
            this.batch = batch;
            this.mode = mode;
            this.newTokens = newTokens;
            this.seconds = seconds;
            this.cacheBytes = cacheBytes;
            this.peakAllocatedBytes = peakAllocatedBytes;
        }

        public double tokensPerSecond() {
            return batch * (double) newTokens / seconds;
        }
    }

    public static ModelSpec dense(Settings s) {
        return ModelSpec.transformer(config(s, s.dim, s.heads, s.layers, 0, 0));
    }

    public static ModelSpec cat(Settings s, int chunk) {
        return ModelSpec.cat(config(s, 2 * s.dim, 2 * s.heads, s.layers, chunk, 2 * s.dim),
                config(s, s.dim, s.heads, Math.max(1, s.layers / 4), chunk, 2 * s.dim));
    }

    private static ModelConfig config(Settings s, int dim, int heads, int layers, int chunk, int dimFx) {
        return new ModelConfig.Builder().blockSize(s.context).vocabSize(s.vocab).nLayer(layers).nHead(heads).dim(dim)
                .chunkSize(chunk).dimFx(dimFx).build();
    }

    public static List<Row> run(Settings s, Consumer<String> progress) {
        s.session.requireSupports(s.options.precision);
        s.session = CustomOps.registerIfNeeded(s.session, s.options.attentionForm == AttentionForm.CUSTOM);
        List<Row> rows = new ArrayList<>();
        List<int[]> models = new ArrayList<>();
        if (s.dense) models.add(new int[] {0});
        for (int c : s.chunks) models.add(new int[] {c});
        int n = s.generated();
        int bytes = s.options.precision.bytes;
        for (int[] m : models) {
            int chunk = m[0];
            ModelSpec spec = chunk == 0 ? dense(s) : cat(s, chunk);
            String name = chunk == 0 ? "dense" : "cat";
            progress.accept("building " + spec);
            RandomInit weights = new RandomInit(spec, 0);
            if (s.bound) rows.addAll(bound(s, spec, weights, name, chunk, n, progress));
            if (!s.step && !s.loop) continue;
            try (DecodeSessions sessions = s.step ? DecodeSessions.build(spec, weights, chunk, s.options, s.session, s.loop)
                    : DecodeSessions.buildLoopOnly(spec, weights, chunk, s.options, s.session);
                 Generator gen = new Generator(spec, chunk, sessions)) {
                for (int batch : s.batches) {
                    List<long[]> prompts = prompts(batch, s.prompt, s.vocab);
                    for (String mode : modes(s)) {
                        GenerationConfig cfg = GenerationConfig.greedy(n).withInGraphLoop(mode.equals("loop")).withMaxBatch(batch);
                        gen.generate(prompts(batch, s.prompt, s.vocab), GenerationConfig.greedy(Math.min(n, 2 * Math.max(chunk, 4)))
                                .withInGraphLoop(cfg.inGraphLoop).withMaxBatch(batch), TokenListener.NONE);   // warm-up
                        long t0 = System.nanoTime();
                        List<long[]> out = gen.generate(prompts, cfg, TokenListener.NONE);
                        double sec = (System.nanoTime() - t0) / 1e9;
                        Row r = new Row(name, chunk, batch, mode, out.get(0).length, sec, batch * spec.cacheBytes(chunk, s.context, bytes));
                        rows.add(r);
                        progress.accept(String.format("%s chunk %d batch %d %s: %.1f tokens/s", name, chunk, batch, mode, r.tokensPerSecond()));
                    }
                }
            }
        }
        return rows;
    }

    private static final double MIB = 1 << 20;

    /** Bound-mode rows of one model: one generator per batch size (its graphs have a fixed batch). */
    private static List<Row> bound(Settings s, ModelSpec spec, RandomInit weights, String name, int chunk, int n, Consumer<String> progress) {
        boolean cuda = s.session.device() == Device.CUDA || (s.session.device() == Device.AUTO && OrtRuntime.cudaAvailable());
        BoundRuntime rt = cuda ? BoundRuntime.cuda(s.session.cudaDeviceId()) : BoundRuntime.cpu();
        BoundSession.Options so = BoundSession.Options.defaults().withCudaGraph(cuda && s.cudaGraph).withDevicePool(s.devicePool).withTf32(s.session.tf32())
                .withGpuMemLimitBytes(s.session.gpuMemLimitBytes()).withIntraOpThreads(s.session.intraOpThreads());
        List<Row> rows = new ArrayList<>();
        for (int batch : s.batches) {
            long m0 = rt.deviceMemoryUsed();
            boolean counted = m0 >= 0 && so.usesDevicePool();  // else the pool sees only our buffers
            if (counted) rt.poolStats(true);
            try (BoundGenerator gen = BoundGenerator.open(rt, spec, weights, chunk, batch, s.options, so)) {
                long m1 = rt.deviceMemoryUsed();
                List<long[]> prompts = prompts(batch, s.prompt, s.vocab);
                gen.generate(prompts, Math.min(n, 2 * Math.max(chunk, 4)));      // warm-up (and CUDA graph capture)
                long m2 = rt.deviceMemoryUsed();
                long t0 = System.nanoTime();
                List<long[]> out = gen.generate(prompts, n);
                double sec = (System.nanoTime() - t0) / 1e9;
                BoundRuntime.PoolStats pool = counted ? rt.poolStats(false) : null;
                if (m0 >= 0) {
                    progress.accept(String.format("%s chunk %d batch %d device memory in use: %.0f MiB before opening; +%.0f MiB "
                                    + "sessions opened and buffers bound (caches %.0f MiB); +%.0f MiB warm-up and graph capture; +%.0f MiB timed run",
                            name, chunk, batch, m0 / MIB, (m1 - m0) / MIB, batch * spec.cacheBytes(chunk, s.context, s.options.precision.bytes) / MIB,
                            (m2 - m1) / MIB, (rt.deviceMemoryUsed() - m2) / MIB));
                }
                if (pool != null) {
                    progress.accept(String.format("%s chunk %d batch %d device pool: peak allocated %.0f MiB (what "
                                    + "torch.cuda.max_memory_allocated counts: weights, caches, activations, workspaces), reserved %.0f MiB",
                            name, chunk, batch, pool.peakAllocated() / MIB, pool.reserved() / MIB));
                }
                Row r = new Row(name, chunk, batch, "bound", out.get(0).length, sec,
                        batch * spec.cacheBytes(chunk, s.context, s.options.precision.bytes), pool == null ? -1 : pool.peakAllocated());
                rows.add(r);
                progress.accept(String.format("%s chunk %d batch %d bound%s: %.1f tokens/s; step runs %d in %.2f s, compress runs %d in %.2f s, host<->device copies %.2f s",
                        name, chunk, batch, so.cudaGraph() ? " (CUDA graphs)" : "", r.tokensPerSecond(),
                        gen.calls(BoundGenerator.Phase.STEP), gen.seconds(BoundGenerator.Phase.STEP),
                        gen.calls(BoundGenerator.Phase.COMPRESS), gen.seconds(BoundGenerator.Phase.COMPRESS), gen.seconds(BoundGenerator.Phase.TRANSFER)));
            }
        }
        return rows;
    }

    private static List<String> modes(Settings s) {
        List<String> m = new ArrayList<>();
        if (s.step) m.add("step");
        if (s.loop) m.add("loop");
        return m;
    }

    private static List<long[]> prompts(int batch, int len, int vocab) {
        Random r = new Random(1);
        List<long[]> p = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            long[] t = new long[len];
            for (int i = 0; i < len; i++) t[i] = r.nextInt(vocab);
            p.add(t);
        }
        return p;
    }
}
