package org.catonnx.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.catonnx.nn.GraphOptions;
import org.catonnx.nn.AttentionForm;
import org.catonnx.onnx.DType;
import org.catonnx.runtime.Device;
import org.catonnx.runtime.SessionConfig;
import org.catonnx.runtime.bench.GenerationBenchmark;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Generation throughput and cache memory: CAT at several chunk sizes vs the dense baseline of equal depth "
                + "(CAT decoder 2x wider, as in the paper), step-by-step loop vs in-graph Loop, all measured in one run.")
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--dim", defaultValue = "64", description = "dense model width; the CAT decoder is twice as wide (default: ${DEFAULT-VALUE})")
    int dim;
    @Option(names = "--heads", defaultValue = "4", description = "dense model heads (default: ${DEFAULT-VALUE})")
    int heads;
    @Option(names = "--layers", defaultValue = "4", description = "depth of both models (default: ${DEFAULT-VALUE})")
    int layers;
    @Option(names = "--vocab", defaultValue = "512", description = "vocabulary size (default: ${DEFAULT-VALUE})")
    int vocab;
    @Option(names = "--context", defaultValue = "2048", description = "block size; generation runs to it (default: ${DEFAULT-VALUE})")
    int context;
    @Option(names = "--prompt", defaultValue = "8", description = "prompt length (default: ${DEFAULT-VALUE})")
    int prompt;
    @Option(names = "--new-tokens", defaultValue = "0", description = "tokens to generate (0 = up to the context)")
    int newTokens;
    @Option(names = "--batch", split = ",", defaultValue = "1,16", description = "batch sizes (default: ${DEFAULT-VALUE})")
    int[] batches;
    @Option(names = "--chunks", split = ",", defaultValue = "4,8,16,32", description = "CAT chunk sizes (default: ${DEFAULT-VALUE})")
    int[] chunks;
    @Option(names = "--mode", split = ",", defaultValue = "step,loop",
            description = "step (one session run per token), loop (in-graph ONNX Loop), bound (fixed-shape step graphs with "
                    + "IO-bound buffers: caches stay on the device, replayed as CUDA graphs on CUDA)")
    List<String> modes;
    @Option(names = "--cuda-graph", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "bound mode on CUDA: capture each step graph once and replay it (--no-cuda-graph: plain runs)")
    boolean cudaGraph;

    @Option(names = "--device-pool", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "bound mode on CUDA: sessions allocate from one counted device pool (--no-device-pool: an ONNX Runtime arena per session)")
    boolean devicePool;
    @Option(names = "--dense", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "include the dense baseline (--no-dense: CAT only)")
    boolean dense;
    @Mixin
    FusedOperatorOptions fused;
    @Spec
    CommandSpec spec;

    @Option(names = "--precision", defaultValue = "float32", description = "float32, float16 or bfloat16")
    String precision;
    @Option(names = "--attention", defaultValue = "efficient",
            description = "efficient (portable ops; GroupQueryAttention when decoding is fused) or custom (our CatAttention / "
                    + "CatDecodeAttention operators, native library) (default: ${DEFAULT-VALUE})")
    String attention;
    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or auto")
    String device;
    @Option(names = "--chart", paramLabel = "PNG", description = "also write a chart of throughput and cache memory against chunk size")
    Path chart;
    @Option(names = "--profile", paramLabel = "PREFIX", description = "write ONNX Runtime profiling traces (per-node times) with this path prefix")
    Path profile;
    @Option(names = "--json", description = "print the rows as JSON")
    boolean json;

    @Override
    public Integer call() throws Exception {
        GenerationBenchmark.Settings s = new GenerationBenchmark.Settings();
        s.dim = dim;
        s.heads = heads;
        s.layers = layers;
        s.vocab = vocab;
        s.context = context;
        s.prompt = prompt;
        s.newTokens = newTokens;
        s.batches = batches;
        s.chunks = chunks;
        s.dense = dense;
        if (chunks.length == 1 && chunks[0] == 0) s.chunks = new int[0];   // --chunks 0: dense only
        for (String m : modes) {
            if (!List.of("step", "loop", "bound").contains(m)) throw new CommandLine.ParameterException(spec.commandLine(), "unknown --mode " + m + " (step, loop, bound)");
        }
        s.step = modes.contains("step");
        s.loop = modes.contains("loop");
        s.bound = modes.contains("bound");
        s.cudaGraph = cudaGraph;
        s.devicePool = devicePool;
        s.options = fused.applyTo(new GraphOptions(DType.parsePrecision(precision), AttentionForm.parse(attention)));
        s.session = SessionConfig.defaults().withDevice(Device.parse(device)).withProfilingPrefix(profile);
        long t0 = System.nanoTime();
        List<GenerationBenchmark.Row> rows = GenerationBenchmark.run(s, msg -> {
            System.err.println("[bench] " + msg);   // stderr: --json output stays clean
        });
        if (json) {
            ObjectMapper m = new ObjectMapper();
            ArrayNode arr = m.createArrayNode();
            for (GenerationBenchmark.Row r : rows) {
                ObjectNode o = arr.addObject().put("model", r.model).put("chunk", r.chunk).put("batch", r.batch).put("mode", r.mode)
                        .put("new_tokens", r.newTokens).put("seconds", r.seconds).put("tokens_per_second", r.tokensPerSecond())
                        .put("cache_bytes", r.cacheBytes).put("speedup_vs_dense", speedup(rows, r))
                        .put("cache_vs_dense", cacheRatio(rows, r));
                if (r.peakAllocatedBytes >= 0) o.put("peak_allocated_bytes", r.peakAllocatedBytes);
            }
            System.out.println(m.writerWithDefaultPrettyPrinter().writeValueAsString(arr));
        } else {
            System.out.printf("%nshapes: dense dim %d x %d layers (%d heads); CAT decoder %d x %d (%d heads), compressor %d x %d; vocab %d, context %d, prompt %d, %s%s%s%s%n",
                    dim, layers, heads, 2 * dim, layers, 2 * heads, dim, Math.max(1, layers / 4), vocab, context, prompt, s.options.precision,
                    s.options.fusedNorm ? ", fused norm" : "", s.options.fusedDecode ? ", fused decode" : "",
                    s.options.attentionForm == AttentionForm.CUSTOM ? ", custom attention" : "");
            System.out.printf("%-6s %5s %5s %5s %8s %9s %12s %11s %10s %10s%n", "model", "chunk", "batch", "mode", "tokens", "seconds",
                    "tokens/s", "cache MiB", "x dense", "cache/dense");
            for (GenerationBenchmark.Row r : rows) {
                System.out.printf(Locale.ROOT, "%-6s %5s %5d %5s %8d %9.2f %12.1f %11.2f %10.2f %10.3f%n", r.model, r.chunk == 0 ? "-" : r.chunk,
                        r.batch, r.mode, r.newTokens, r.seconds, r.tokensPerSecond(), r.cacheBytes / 1048576.0, speedup(rows, r), cacheRatio(rows, r));
            }
            for (int b : batches) {
                double step = find(rows, "dense", 0, b, "step"), loop = find(rows, "dense", 0, b, "loop");
                if (step > 0 && loop > 0) System.out.printf(Locale.ROOT, "in-graph loop vs step loop, dense batch %d: %.2fx%n", b, loop / step);
                for (int c : chunks) {
                    double cs = find(rows, "cat", c, b, "step"), cl = find(rows, "cat", c, b, "loop");
                    if (cs > 0 && cl > 0) System.out.printf(Locale.ROOT, "in-graph loop vs step loop, CAT chunk %d batch %d: %.2fx%n", c, b, cl / cs);
                    double cb = find(rows, "cat", c, b, "bound");
                    if (cb > 0 && cl > 0) System.out.printf(Locale.ROOT, "bound vs in-graph loop, CAT chunk %d batch %d: %.2fx%n", c, b, cb / cl);
                }
                double bound = find(rows, "dense", 0, b, "bound");
                if (bound > 0 && loop > 0) System.out.printf(Locale.ROOT, "bound vs in-graph loop, dense batch %d: %.2fx%n", b, bound / loop);
            }
            System.out.printf("done in %.0f s%n", (System.nanoTime() - t0) / 1e9);
        }
        if (chart != null) {
            BenchChart.write(rows, chart);
            if (!json) System.out.println("chart written to " + chart);
        }
        return 0;
    }

    static double find(List<GenerationBenchmark.Row> rows, String model, int chunk, int batch, String mode) {
        for (GenerationBenchmark.Row r : rows) {
            if (r.model.equals(model) && r.chunk == chunk && r.batch == batch && r.mode.equals(mode)) return r.tokensPerSecond();
        }
        return 0;
    }

    static double speedup(List<GenerationBenchmark.Row> rows, GenerationBenchmark.Row r) {
        double dense = find(rows, "dense", 0, r.batch, r.mode);
        return dense > 0 ? r.tokensPerSecond() / dense : Double.NaN;
    }

    static double cacheRatio(List<GenerationBenchmark.Row> rows, GenerationBenchmark.Row r) {
        for (GenerationBenchmark.Row d : rows) {
            if (d.model.equals("dense") && d.batch == r.batch) return r.cacheBytes / (double) d.cacheBytes;
        }
        return Double.NaN;
    }
}
