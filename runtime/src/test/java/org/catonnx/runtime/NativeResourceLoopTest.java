package org.catonnx.runtime;

import org.catonnx.graphs.DecodeGraphs;
import org.catonnx.graphs.FixedStepGraphs;
import org.catonnx.onnx.DType;
import org.catonnx.runtime.bound.BoundGenerator;
import org.catonnx.runtime.bound.BoundRuntime;
import org.catonnx.runtime.bound.BoundSession;
import org.catonnx.nn.GraphOptions;
import org.catonnx.models.ModelSpec;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.runtime.generate.DecodeSessions;
import org.catonnx.runtime.generate.GenerationConfig;
import org.catonnx.runtime.generate.Generator;
import org.catonnx.runtime.generate.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Native resources are released: a long loop of opening ONNX Runtime sessions (the four CAT decode
 * graphs of a tiny model, from in-memory bytes), generating a few tokens and closing them keeps the
 * process's resident memory flat. RSS (/proc/self/status VmRSS) is sampled after a GC; the growth
 * between iteration {@value #WARMUP} and the last must stay under {@value #MAX_GROWTH_MIB} MiB.
 * Plain test runs do {@code catonnx.rssLoop.iterations} = 300 iterations; the figure quoted in
 * docs/RELIABILITY.md comes from {@code -Dcatonnx.rssLoop.iterations=1000}.
 */
class NativeResourceLoopTest {
    static final int WARMUP = 100;
    static final int MAX_GROWTH_MIB = 64;

    @Test
    void sessionOpenGenerateCloseLoopKeepsRssFlat() throws IOException {
        ModelSpec spec = TestModels.cat(4, false, false);
        WeightSource w = TestModels.weights(spec, 11);
        GraphOptions o = GraphOptions.defaults();
        Map<String, byte[]> graphs = new LinkedHashMap<>();
        graphs.put(DecodeSessions.START, new OnnxModel(DecodeGraphs.start(spec, w, 4, o)).toBytes());
        graphs.put(DecodeSessions.COMPRESS, new OnnxModel(DecodeGraphs.compress(spec, w, 4, o)).toBytes());
        graphs.put(DecodeSessions.SUMMARIES, new OnnxModel(DecodeGraphs.summaries(spec, w, 4, o)).toBytes());
        graphs.put(DecodeSessions.TOKENS, new OnnxModel(DecodeGraphs.tokens(spec, w, 4, o)).toBytes());
        SessionConfig sc = SessionConfig.defaults();
        GenerationConfig cfg = GenerationConfig.greedy(6);
        assertRssFlat("open 4 sessions + generate 6 tokens x 2 rows + close", prompts -> {
            Map<String, ModelSession> sessions = new LinkedHashMap<>();
            graphs.forEach((k, bytes) -> sessions.put(k, OrtRuntime.get().open(bytes, sc)));
            try (Generator g = new Generator(spec, 4, new DecodeSessions(sessions, o))) {
                return g.generate(prompts, cfg, (r, s, t) -> {});
            }
        });
    }

    /**
     * The same for bound sessions (our JNI layer over ONNX Runtime's C API): open the fixed-shape
     * step and compress graphs with their own buffers, generate, close, in a loop.
     */
    @Test
    void boundOpenGenerateCloseLoopKeepsRssFlat(@TempDir Path dir) throws IOException {
        assumeTrue(BoundRuntime.cpuAvailable(), "native library not built (-Dcatonnx.native.skip=true)");
        ModelSpec spec = TestModels.cat(4, false, false);
        WeightSource w = TestModels.weights(spec, 11);
        Path step = dir.resolve("step.onnx"), compress = dir.resolve("compress.onnx");
        Files.write(step, new OnnxModel(FixedStepGraphs.catStep(spec, w, 4, 2, GraphOptions.defaults())).toBytes());
        Files.write(compress, new OnnxModel(FixedStepGraphs.catCompress(spec, w, 4, 2, GraphOptions.defaults())).toBytes());
        BoundRuntime rt = BoundRuntime.cpu();
        assertRssFlat("open 2 bound sessions + generate 6 tokens x 2 rows + close", prompts -> {
            try (BoundGenerator g = BoundGenerator.open(rt, spec, 4, 2, DType.FLOAT, step, compress, false, BoundSession.Options.defaults())) {
                return g.generate(prompts, 6);
            }
        });
    }

    /**
     * Runs {@code iteration} on two fixed prompts {@code catonnx.rssLoop.iterations} times, checking
     * every iteration generates what the first did and that RSS grows less than the limit after warm-up.
     */
    private static void assertRssFlat(String what, Function<List<long[]>, List<long[]>> iteration) throws IOException {
        Path status = Path.of("/proc/self/status");
        assumeTrue(Files.isReadable(status), "needs Linux /proc to read RSS");
        int iterations = Math.max(WARMUP + 1, Integer.getInteger("catonnx.rssLoop.iterations", 300));
        List<long[]> prompts = List.of(new long[] {1, 2, 3, 4, 5}, new long[] {6, 7, 8, 9, 10});
        long[] rss = new long[iterations + 1];
        List<long[]> first = null;
        long t0 = System.nanoTime();
        for (int i = 1; i <= iterations; i++) {
            List<long[]> out = iteration.apply(prompts);
            if (first == null) first = out;
            for (int r = 0; r < out.size(); r++) assertArrayEquals(first.get(r), out.get(r), "iteration " + i);
            if (i == 1 || i % 50 == 0 || i == WARMUP || i == iterations) {
                System.gc();
                rss[i] = rssKiB(status);
            }
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        List<String> samples = new ArrayList<>();
        for (int i = 1; i <= iterations; i++) if (rss[i] > 0) samples.add(i + ": " + rss[i] / 1024 + " MiB");
        long growthKiB = rss[iterations] - rss[WARMUP];
        System.out.printf("RSS over %d iterations of %s (%d ms, %.1f ms/iteration): %s; growth from iteration %d to %d: %+.1f MiB%n",
                iterations, what, ms, ms / (double) iterations, samples, WARMUP, iterations, growthKiB / 1024.0);
        assertTrue(growthKiB < MAX_GROWTH_MIB * 1024L, "RSS grew by " + growthKiB / 1024 + " MiB after warm-up: " + samples);
    }

    private static long rssKiB(Path status) throws IOException {
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        throw new IllegalStateException("no VmRSS in " + status);
    }
}
