package org.catonnx.runtime.bench;

import ai.onnxruntime.OrtLoggingLevel;
import org.catonnx.graphs.AttentionBenchGraphs;
import org.catonnx.graphs.AttentionBenchGraphs.Form;
import org.catonnx.graphs.AttentionBenchGraphs.Problem;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.TensorData;
import org.catonnx.runtime.CustomOps;
import org.catonnx.runtime.Device;
import org.catonnx.runtime.InferenceException;
import org.catonnx.runtime.ModelSession;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.SessionConfig;
import org.catonnx.runtime.verify.PlacementCheck;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The attention operator alone, in four forms on the same problems: CAT as our custom operator,
 * as portable per-block ops and as portable ops with an N x N mask, and the dense baseline's
 * causal attention over the same L tokens. Each (form, problem) gets its own session with the
 * graph of {@link AttentionBenchGraphs} and is timed by {@link RepetitionTimer}; one that fails
 * (typically out of memory: the masked and dense forms materialise B*H*N*N scores) becomes a
 * row with the reason, its session is closed and the benchmark goes on.
 */
public final class AttentionOpBenchmark {
    /** What to measure. Heads are modelDim / hd for every head dim; kv heads = heads. */
    public static final class Settings {
        public int[] lengths = {2048, 8192};
        public int[] chunks = {4, 8, 16, 32};
        public int[] batches = {8, 64};
        public int[] headDims = {64, 128};
        public int modelDim = 1536;
        public List<Form> forms = List.of(Form.CUSTOM, Form.EFFICIENT, Form.MASKED, Form.DENSE);
        public DType precision = DType.BFLOAT16;
        public SessionConfig session = SessionConfig.defaults().withDevice(Device.CUDA);
        /** extra repetitions of the second timed run; 0 = chosen to take about targetSeconds */
        public long reps = 0;
        public double targetSeconds = 0.1;
        public int trials = 3;

        List<Problem> problems(int length, int batch, int hd, boolean cat) {
            if (modelDim % hd != 0) throw new IllegalArgumentException("head dim " + hd + " does not divide model dim " + modelDim);
            int heads = modelDim / hd;
            List<Problem> out = new ArrayList<>();
            if (!cat) out.add(new Problem(batch, heads, heads, length, 0, hd));
            else for (int c : chunks) {
                if (c < 1) throw new IllegalArgumentException("chunk sizes must be positive, got " + c);
                out.add(new Problem(batch, heads, heads, length, c, hd));
            }
            return out;
        }
    }

    /** One (form, problem): a time per call, or why there is none. */
    public static final class Row {
        public final Form form;
        public final Problem problem;
        public final AttentionCost cost;
        /** seconds per call; NaN when {@link #error} is set */
        public final double seconds;
        /** the two repetition counts timed, and the best seconds of a run with each */
        public final long r1, r2;
        public final double t1, t2;
        public final float checksum;
        /** null, or e.g. "out of memory (...)" */
        public final String error;

        Row(Form form, Problem problem, AttentionCost cost, RepetitionTimer.Timing t, String error) {
            this.form = form;
            this.problem = problem;
            this.cost = cost;
            this.seconds = t == null ? Double.NaN : t.secondsPerCall();
            this.r1 = t == null ? 0 : t.r1();
            this.r2 = t == null ? 0 : t.r2();
            this.t1 = t == null ? Double.NaN : t.t1();
            this.t2 = t == null ? Double.NaN : t.t2();
            this.checksum = t == null ? Float.NaN : t.checksum();
            this.error = error;
        }

        public boolean ok() {
            return error == null;
        }

        public double millis() {
            return seconds * 1e3;
        }

        public double gigabytesPerSecond() {
            return cost.bytes() / seconds / 1e9;
        }

        public double teraflopsPerSecond() {
            return cost.flops() / seconds / 1e12;
        }

        /** Measured time over the roofline time (1 = at the roofline). */
        public double timesRoofline(double peakBytesPerSecond, double peakFlopsPerSecond) {
            return seconds / cost.rooflineSeconds(peakBytesPerSecond, peakFlopsPerSecond);
        }

        /** Whether {@code o} measured the same problem (same chunk unless one of them is not CAT). */
        boolean sameProblem(Row o) {
            Problem a = problem, b = o.problem;
            return a.length() == b.length() && a.batch() == b.batch() && a.headDim() == b.headDim()
                    && a.heads() == b.heads() && (!form.isCat() || !o.form.isCat() || a.chunk() == b.chunk());
        }
    }

    /** The rows, and what was skipped or looks wrong (custom op unavailable, work on the CPU provider). */
    public static final class Result {
        public final Device device;
        public final DType precision;
        public final List<Row> rows = new ArrayList<>();
        public final List<String> notes = new ArrayList<>();

        Result(Device device, DType precision) {
            this.device = device;
            this.precision = precision;
        }

        /** How many times faster {@code r} is than {@code other} on the same problem: t(other) / t(r); NaN if either is missing. */
        public double speedup(Row r, Form other) {
            if (!r.ok()) return Double.NaN;
            for (Row o : rows) {
                if (o.form == other && o.ok() && o.sameProblem(r)) return o.seconds / r.seconds;
            }
            return Double.NaN;
        }
    }

    private AttentionOpBenchmark() {}

    public static Result run(Settings s, Consumer<String> progress) {
        Device device = resolve(s.session.device());
        // failures (out of memory) become rows with their reason; ONNX Runtime need not log them too
        SessionConfig session = s.session.withDevice(device).withLogSeverity(OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL);
        session.requireSupports(s.precision);
        Result result = new Result(device, s.precision);
        List<Form> forms = new ArrayList<>(s.forms);
        SessionConfig custom = null;
        if (forms.contains(Form.CUSTOM)) {
            try {
                custom = session.withCustomOpLibrary(CustomOps.libraryFor(device));
            } catch (IllegalStateException e) {
                forms.remove(Form.CUSTOM);
                note(result, progress, "custom skipped: " + e.getMessage());
            }
        }
        List<Job> jobs = jobs(s, forms);
        RepetitionTimer.Plan plan = new RepetitionTimer.Plan(s.reps, s.targetSeconds, s.trials);
        if (device == Device.CUDA) checkPlacement(s, forms, session, custom, result, progress);
        for (int i = 0; i < jobs.size(); i++) {
            Job j = jobs.get(i);
            String label = String.format(Locale.ROOT, "[%d/%d] %s %s", i + 1, jobs.size(), j.form, j.problem);
            Row row = measure(s.precision, plan, j.form, j.problem, j.form == Form.CUSTOM ? custom : session, label, progress);
            result.rows.add(row);
            if (row.ok() && !(row.seconds > 0)) {
                note(result, progress, j.form + " " + j.problem + ": R = " + row.r2 + " ran no slower than R = " + row.r1
                        + " (timer noise); raise --reps or --target-ms");
            }
        }
        return result;
    }

    private record Job(Form form, Problem problem) {}

    /** Every (form, problem) in run order, checked before anything runs: per (L, batch, hd) the non-CAT forms, then each chunk's CAT forms. */
    private static List<Job> jobs(Settings s, List<Form> forms) {
        List<Job> jobs = new ArrayList<>();
        for (int length : s.lengths) {
            for (int batch : s.batches) {
                for (int hd : s.headDims) {
                    for (Form f : forms) {
                        if (!f.isCat()) for (Problem p : s.problems(length, batch, hd, false)) jobs.add(new Job(f, p));
                    }
                    for (Problem p : s.problems(length, batch, hd, true)) {
                        for (Form f : forms) if (f.isCat()) jobs.add(new Job(f, p));
                    }
                }
            }
        }
        return jobs;
    }

    /** AUTO becomes CUDA or CPU here, so that the custom-op library matches the device the sessions get. */
    private static Device resolve(Device d) {
        if (d != Device.AUTO) return d;
        return OrtRuntime.cudaAvailable() ? Device.CUDA : Device.CPU;
    }

    private static Row measure(DType precision, RepetitionTimer.Plan plan, Form f, Problem p, SessionConfig config, String label,
                               Consumer<String> progress) {
        AttentionCost cost = AttentionCost.of(p, f, precision.bytes);
        progress.accept(label + ": building");
        byte[] model = new OnnxModel(AttentionBenchGraphs.build(p, f, precision, false)).toBytes();
        try (ModelSession session = OrtRuntime.get().open(model, config)) {
            RepetitionTimer.Timing t = RepetitionTimer.measure(session, plan, msg -> progress.accept(label + ": " + msg));
            progress.accept(String.format(Locale.ROOT, "%s: %.4f ms per call", label, t.secondsPerCall() * 1e3));
            return new Row(f, p, cost, t, null);
        } catch (InferenceException e) {
            String why = reason(e);
            progress.accept(label + ": " + why);
            return new Row(f, p, cost, null, why);
        }
    }

    private static final Pattern BUFFER = Pattern.compile("buffer of size (\\d+)");

    /** "out of memory (could not allocate a 300.0 GiB buffer)" and the like, or "failed (first line of the error)". */
    static String reason(InferenceException e) {
        String m = String.valueOf(e.getMessage());
        String lower = m.toLowerCase(Locale.ROOT);
        boolean oom = lower.contains("out of memory") || lower.contains("failed to allocate") || lower.contains("bad_alloc")
                || lower.contains("bad allocation") || lower.contains("cudaerrormemoryallocation");
        if (oom) {
            Matcher b = BUFFER.matcher(m);
            return "out of memory (" + (b.find() ? String.format(Locale.ROOT, "could not allocate a %.1f GiB buffer",
                    Long.parseLong(b.group(1)) / (double) (1L << 30)) : shorten(m)) + ")";
        }
        return "failed (" + shorten(m) + ")";
    }

    /** The innermost status message's first line (ONNX Runtime nests the failing node's inside the Loop's), at most 140 characters. */
    private static String shorten(String m) {
        int inner = m.lastIndexOf("Status Message: ");
        String line = m.substring(inner < 0 ? 0 : inner + "Status Message: ".length()).lines().findFirst().orElse("").trim();
        return line.length() <= 140 ? line : line.substring(0, 137) + "...";
    }

    /**
     * On CUDA: runs each form once on a tiny problem with profiling and notes any floating-point
     * node that ran on the CPU provider (the timing would include it and its copies).
     */
    private static void checkPlacement(Settings s, List<Form> forms, SessionConfig session, SessionConfig custom,
                                       Result result, Consumer<String> progress) {
        int hd = s.headDims[0], chunk = s.chunks.length > 0 ? s.chunks[0] : 4;
        Problem tiny = new Problem(1, 2, 2, 2 * chunk, chunk, hd);
        Path dir;
        try {
            dir = Files.createTempDirectory("catonnx-placement-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            for (Form f : forms) {
                progress.accept(f + ": checking node placement on " + tiny);
                Graph g = AttentionBenchGraphs.build(tiny, f, s.precision, false);
                try {
                    PlacementCheck.Report r = PlacementCheck.run(g, Map.of(AttentionBenchGraphs.REPS, TensorData.ofLongs(new long[] {1})),
                            f == Form.CUSTOM ? custom : session, dir);
                    // only the repeated nodes matter: work done once per run cancels in the difference
                    String scope = "/" + AttentionBenchGraphs.ATTENTION_SCOPE + "/";
                    List<String> repeated = r.floatingOnCpu.stream().filter(n -> n.startsWith(scope)).distinct().toList();
                    if (!repeated.isEmpty()) {
                        note(result, progress, f + ": floating-point attention nodes ran on the CPU provider (their times include it): "
                                + repeated);
                    }
                } catch (IOException | InferenceException e) {
                    note(result, progress, f + ": node placement not checked: " + e.getMessage());
                }
            }
        } finally {
            dir.toFile().delete();
        }
    }

    private static void note(Result r, Consumer<String> progress, String msg) {
        r.notes.add(msg);
        progress.accept(msg);
    }
}
