package org.catonnx.runtime.bench;

import org.catonnx.graphs.AttentionBenchGraphs;
import org.catonnx.onnx.TensorData;
import org.catonnx.runtime.ModelSession;

import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Time per repetition of work that a graph repeats R times in one run (input
 * {@value AttentionBenchGraphs#REPS}): runs with R = r1 and R = r2 = r1 + n, each the best of a
 * few, differenced: (t(r2) - t(r1)) / n. Whatever a run does once (input generation, host copies,
 * session overhead, the checksum) cancels. n is given or chosen so that the difference is about
 * a target duration, from a quick estimate that grows n until the difference is measurable.
 */
final class RepetitionTimer {
    static final long R1 = 1;
    private static final long MAX_EXTRA = 1_000_000;

    /**
     * @param extra   n, the repetitions that the second run adds; 0 = calibrate
     * @param target  seconds the n extra repetitions should take when calibrating
     * @param trials  runs per R; the fastest counts
     */
    record Plan(long extra, double target, int trials) {
        Plan {
            if (extra < 0) throw new IllegalArgumentException("extra repetitions must be >= 0, got " + extra);
            if (trials < 1) throw new IllegalArgumentException("trials must be >= 1, got " + trials);
            if (extra == 0 && !(target > 0)) throw new IllegalArgumentException("target seconds must be positive, got " + target);
        }
    }

    /**
     * @param secondsPerCall (t(r2) - t(r1)) / (r2 - r1)
     * @param t1             best seconds of a run with R = r1
     * @param t2             best seconds of a run with R = r2
     * @param checksum       the graph's checksum from the last run
     */
    record Timing(double secondsPerCall, long r1, long r2, double t1, double t2, float checksum) {}

    private RepetitionTimer() {}

    static Timing measure(ModelSession s, Plan plan, Consumer<String> progress) {
        progress.accept("warming up");
        run(s, R1);
        run(s, R1 + 1);     // a second iteration allocates while the first result is still carried
        long extra = plan.extra() > 0 ? plan.extra() : calibrate(s, plan.target(), progress);
        progress.accept(String.format(Locale.ROOT, "timing R = %d and %d, best of %d", R1, R1 + extra, plan.trials()));
        double t1 = Double.POSITIVE_INFINITY, t2 = Double.POSITIVE_INFINITY;
        float checksum = Float.NaN;
        for (int i = 0; i < plan.trials(); i++) {
            t1 = Math.min(t1, time(s, R1));
            long t0 = System.nanoTime();
            checksum = run(s, R1 + extra);
            t2 = Math.min(t2, (System.nanoTime() - t0) / 1e9);
        }
        return new Timing((t2 - t1) / extra, R1, R1 + extra, t1, t2, checksum);
    }

    /** Grows k (x8) until t(r1+k) - t(r1) is an eighth of the target, then scales k to the target. */
    private static long calibrate(ModelSession s, double target, Consumer<String> progress) {
        long k = 1;
        while (true) {
            double base = time(s, R1);
            double diff = time(s, R1 + k) - base;
            if (diff >= target / 8 || k >= MAX_EXTRA) {
                double perCall = Math.max(diff, 1e-9) / k;
                long extra = Math.max(1, Math.min(MAX_EXTRA, (long) Math.ceil(target / perCall)));
                progress.accept(String.format(Locale.ROOT, "about %.3f ms per call: %d extra repetitions", perCall * 1e3, extra));
                return extra;
            }
            k = Math.min(MAX_EXTRA, k * 8);
        }
    }

    private static double time(ModelSession s, long reps) {
        long t0 = System.nanoTime();
        run(s, reps);
        return (System.nanoTime() - t0) / 1e9;
    }

    private static float run(ModelSession s, long reps) {
        Map<String, TensorData> out = s.run(Map.of(AttentionBenchGraphs.REPS, TensorData.ofLongs(new long[] {reps})),
                Set.of(AttentionBenchGraphs.CHECKSUM));
        return out.get(AttentionBenchGraphs.CHECKSUM).toFloats()[0];
    }
}
