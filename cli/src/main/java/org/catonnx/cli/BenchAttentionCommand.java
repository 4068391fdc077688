package org.catonnx.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.catonnx.graphs.AttentionBenchGraphs.Form;
import org.catonnx.onnx.DType;
import org.catonnx.runtime.Device;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.SessionConfig;
import org.catonnx.runtime.bench.AttentionOpBenchmark;
import org.catonnx.runtime.bench.AttentionOpBenchmark.Result;
import org.catonnx.runtime.bench.AttentionOpBenchmark.Row;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;

@Command(name = "bench-attention", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
                "Times the attention operator alone, per call, in four forms on the same problems: CAT as our CatAttention "
                        + "custom operator (custom), as portable per-block ops (efficient) and as portable ops with an N x N mask "
                        + "(masked), and standard causal attention over the same L tokens (dense, the dense baseline's attention).",
                "",
                "CAT sees L tokens as L/chunk blocks of S = chunk+1 positions (N = L/chunk * S). q, k and v are generated inside "
                        + "the graph and the attention is repeated R times inside an ONNX Loop, so no tensor crosses host memory per call; "
                        + "per call = (t(R=1+n) - t(R=1)) / n, each the best of --trials runs after a warm-up.",
                "",
                "Columns: GB/s from bytes = (q + k + v + y) elements x element size; TFLOP/s from 4 x hd FLOPs per allowed "
                        + "(query, key) pair x batch x heads (pairs counted exactly from each form's mask); roofline ms = "
                        + "max(bytes / --peak-bandwidth, FLOPs / --peak-flops) and x roof = ms / roofline ms; x efficient, x masked, "
                        + "x dense = how many times faster the row is than that form on the same problem.",
                "",
                "A configuration that fails (out of memory: masked and dense materialise B x H x N x N scores) is reported as a row "
                        + "and the benchmark goes on. Progress goes to stderr, the table (markdown) and a summary to stdout.",
                "",
                "On the CPU use small sizes, e.g. --device cpu --lengths 64 --chunks 4,8 --batches 1 --head-dims 16 --model-dim 64."})
final class BenchAttentionCommand implements Callable<Integer> {
    @Option(names = "--lengths", split = ",", defaultValue = "2048,8192", paramLabel = "L",
            description = "tokens L (default: ${DEFAULT-VALUE})")
    int[] lengths;
    @Option(names = "--chunks", split = ",", defaultValue = "4,8,16,32", paramLabel = "C",
            description = "CAT chunk sizes; each must divide every length (default: ${DEFAULT-VALUE})")
    int[] chunks;
    @Option(names = "--batches", split = ",", defaultValue = "8,64", paramLabel = "B", description = "batch sizes (default: ${DEFAULT-VALUE})")
    int[] batches;
    @Option(names = "--head-dims", split = ",", defaultValue = "64,128", paramLabel = "HD",
            description = "head dims; heads = model dim / head dim, kv heads = heads (default: ${DEFAULT-VALUE})")
    int[] headDims;
    @Option(names = "--model-dim", defaultValue = "1536", description = "model width, heads x head dim (default: ${DEFAULT-VALUE})")
    int modelDim;
    @Option(names = "--forms", split = ",", defaultValue = "custom,efficient,masked,dense", paramLabel = "FORM",
            description = "custom, efficient, masked, dense, and empty (the Loop alone: its per-iteration overhead, "
                    + "included in every other time) (default: ${DEFAULT-VALUE})")
    List<String> forms;
    @Option(names = "--precision", description = "float32, float16 or bfloat16 (default: bfloat16 on CUDA, float32 on the CPU, "
            + "whose provider has no bfloat16 MatMul)")
    String precision;
    @Option(names = "--device", defaultValue = "cuda", description = "cuda, cpu or auto (default: ${DEFAULT-VALUE})")
    String device;
    @Option(names = "--reps", defaultValue = "0", paramLabel = "N",
            description = "repetitions the second timed run adds; 0 = chosen per configuration so they take about --target-ms "
                    + "(default: ${DEFAULT-VALUE})")
    long reps;
    @Option(names = "--target-ms", defaultValue = "100", description = "time the added repetitions should take (default: ${DEFAULT-VALUE})")
    double targetMs;
    @Option(names = "--trials", defaultValue = "3", description = "timed runs per repetition count, the fastest counts (default: ${DEFAULT-VALUE})")
    int trials;
    @Option(names = "--peak-bandwidth", defaultValue = "4.3e12", paramLabel = "BYTES_PER_S",
            description = "memory bandwidth ceiling for the roofline (default: ${DEFAULT-VALUE}, H200)")
    double peakBandwidth;
    @Option(names = "--peak-flops", defaultValue = "790e12", paramLabel = "FLOPS",
            description = "compute ceiling for the roofline (default: ${DEFAULT-VALUE}, H200 dense bfloat16)")
    double peakFlops;
    @Option(names = "--json", description = "print the rows as JSON instead of the table")
    boolean json;
    @Option(names = "--json-file", paramLabel = "FILE", description = "also write the rows as JSON to this file (table and JSON from one run)")
    Path jsonFile;

    @Override
    public Integer call() throws Exception {
        AttentionOpBenchmark.Settings s = new AttentionOpBenchmark.Settings();
        s.lengths = lengths;
        s.chunks = chunks;
        s.batches = batches;
        s.headDims = headDims;
        s.modelDim = modelDim;
        Set<Form> fs = new LinkedHashSet<>();
        for (String f : forms) fs.add(Form.parse(f));
        s.forms = List.copyOf(fs);
        Device d = Device.parse(device);
        s.session = SessionConfig.defaults().withDevice(d);
        s.precision = precision != null ? DType.parsePrecision(precision) : defaultPrecision(d);
        s.reps = reps;
        s.targetSeconds = targetMs / 1e3;
        s.trials = trials;
        if (!(peakBandwidth > 0) || !(peakFlops > 0)) throw new IllegalArgumentException("--peak-bandwidth and --peak-flops must be positive");
        long t0 = System.nanoTime();
        Result r = AttentionOpBenchmark.run(s, msg -> System.err.println("[bench-attention] " + msg));
        String asJson = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(toJson(r, s));
        if (jsonFile != null) Files.writeString(jsonFile, asJson + System.lineSeparator());
        if (json) {
            System.out.println(asJson);
            return 0;
        }
        System.out.printf(Locale.ROOT, "%nattention per call on %s, %s, model dim %d (heads = %d / hd, kv heads = heads), "
                        + "roofline %.3g B/s, %.3g FLOP/s%n%n", lower(r.device.name()), lower(r.precision.name()), modelDim, modelDim,
                peakBandwidth, peakFlops);
        printTable(r);
        printSummary(r);
        for (String n : r.notes) System.out.println("note: " + n);
        System.out.printf(Locale.ROOT, "done in %.0f s%n", (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    private static DType defaultPrecision(Device d) {
        boolean cuda = d == Device.CUDA || (d == Device.AUTO && OrtRuntime.cudaAvailable());
        return cuda ? DType.BFLOAT16 : DType.FLOAT;
    }

    private void printTable(Result r) {
        System.out.println("| form | L | chunk | batch | hd | ms | GB/s | TFLOP/s | roofline ms | x roof | x efficient | x masked | x dense |");
        System.out.println("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        for (Row row : r.rows) {
            String head = String.format(Locale.ROOT, "| %s | %d | %s | %d | %d |", row.form, row.problem.length(),
                    row.form.isCat() ? Integer.toString(row.problem.chunk()) : "-", row.problem.batch(), row.problem.headDim());
            if (!row.ok()) {
                System.out.println(head + " " + row.error + " | | | | | | | |");
                continue;
            }
            boolean work = row.cost.flops() > 0;
            System.out.println(head + String.format(Locale.ROOT, " %.4g | %s | %s | %s | %s | %s | %s | %s |", row.millis(),
                    work ? String.format(Locale.ROOT, "%.1f", row.gigabytesPerSecond()) : "-",
                    work ? String.format(Locale.ROOT, "%.2f", row.teraflopsPerSecond()) : "-",
                    work ? String.format(Locale.ROOT, "%.4g", row.cost.rooflineSeconds(peakBandwidth, peakFlops) * 1e3) : "-",
                    work ? String.format(Locale.ROOT, "%.1f", row.timesRoofline(peakBandwidth, peakFlops)) : "-",
                    ratio(r, row, Form.EFFICIENT), ratio(r, row, Form.MASKED), ratio(r, row, Form.DENSE)));
        }
    }

    private static String ratio(Result r, Row row, Form other) {
        if (row.form == other || row.form == Form.EMPTY) return "-";
        double x = r.speedup(row, other);
        return Double.isNaN(x) ? "-" : String.format(Locale.ROOT, "%.2f", x);
    }

    /** Per (L, batch, hd): the custom operator's speedup over each other form, per chunk. */
    private void printSummary(Result r) {
        List<Row> custom = new ArrayList<>();
        for (Row row : r.rows) if (row.form == Form.CUSTOM) custom.add(row);
        if (custom.isEmpty()) {
            System.out.println("\nno custom-operator rows: no summary");
            return;
        }
        System.out.println("\ncustom operator speedup (times faster; per chunk " + join(chunks) + "):");
        Set<String> seen = new LinkedHashSet<>();
        for (Row c : custom) {
            String key = c.problem.length() + "/" + c.problem.batch() + "/" + c.problem.headDim();
            if (!seen.add(key)) continue;
            List<String> parts = new ArrayList<>();
            for (Form other : List.of(Form.EFFICIENT, Form.MASKED, Form.DENSE)) {
                if (!hasForm(r, other)) continue;
                List<String> xs = new ArrayList<>();
                for (Row cc : custom) {
                    if (cc.problem.length() == c.problem.length() && cc.problem.batch() == c.problem.batch()
                            && cc.problem.headDim() == c.problem.headDim()) {
                        double x = r.speedup(cc, other);
                        xs.add(Double.isNaN(x) ? "-" : String.format(Locale.ROOT, "%.2f", x));
                    }
                }
                parts.add("vs " + other + " " + String.join(" / ", xs));
            }
            System.out.printf(Locale.ROOT, "L %d batch %d hd %d: %s%n", c.problem.length(), c.problem.batch(), c.problem.headDim(),
                    parts.isEmpty() ? "no other form measured" : String.join("; ", parts));
        }
    }

    /** Whether any row of that form exists (measured or failed). */
    private static boolean hasForm(Result r, Form f) {
        for (Row row : r.rows) if (row.form == f) return true;
        return false;
    }

    private static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }

    private static String join(int[] xs) {
        List<String> p = new ArrayList<>();
        for (int x : xs) p.add(Integer.toString(x));
        return String.join(" / ", p);
    }

    private ObjectNode toJson(Result r, AttentionOpBenchmark.Settings s) {
        ObjectMapper m = new ObjectMapper();
        ObjectNode root = m.createObjectNode();
        root.put("device", lower(r.device.name())).put("precision", lower(r.precision.name()))
                .put("model_dim", s.modelDim).put("peak_bandwidth", peakBandwidth).put("peak_flops", peakFlops);
        ArrayNode notes = root.putArray("notes");
        r.notes.forEach(notes::add);
        ArrayNode rows = root.putArray("rows");
        for (Row row : r.rows) {
            ObjectNode o = rows.addObject().put("form", row.form.id).put("length", row.problem.length());
            if (row.form.isCat()) o.put("chunk", row.problem.chunk()).put("positions", row.problem.positions(row.form));
            else o.putNull("chunk").put("positions", row.problem.positions(row.form));
            o.put("batch", row.problem.batch()).put("heads", row.problem.heads()).put("head_dim", row.problem.headDim())
                    .put("bytes", row.cost.bytes()).put("flops", row.cost.flops())
                    .put("roofline_ms", row.cost.rooflineSeconds(peakBandwidth, peakFlops) * 1e3);
            if (!row.ok()) {
                o.putNull("ms").put("error", row.error);
                continue;
            }
            o.put("ms", row.millis()).put("r1", row.r1).put("r2", row.r2).put("t1_ms", row.t1 * 1e3).put("t2_ms", row.t2 * 1e3)
                    .put("checksum", row.checksum);
            if (row.cost.flops() > 0) {
                o.put("gb_per_s", row.gigabytesPerSecond()).put("tflop_per_s", row.teraflopsPerSecond())
                        .put("times_roofline", row.timesRoofline(peakBandwidth, peakFlops));
            }
            for (Form other : List.of(Form.EFFICIENT, Form.MASKED, Form.DENSE)) {
                double x = r.speedup(row, other);
                if (row.form != other && !Double.isNaN(x)) o.put("speedup_vs_" + other.id, x);
            }
        }
        return root;
    }
}
