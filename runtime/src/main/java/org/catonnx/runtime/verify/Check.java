package org.catonnx.runtime.verify;

/**
 * One comparison against a reference tensor: the max error measured (absolute, or relative to
 * the reference's max magnitude), the tolerance, and the verdict.
 */
public final class Check {
    public final String output;
    public final String measure;
    public final double error;
    public final double tolerance;
    public final String note;

    public Check(String output, String measure, double error, double tolerance, String note) {
        this.output = output;
        this.measure = measure;
        this.error = error;
        this.tolerance = tolerance;
        this.note = note;
    }

    public boolean passed() {
        return error <= tolerance;
    }

    /** max |a - b| */
    public static double maxAbs(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("sizes differ: " + a.length + " vs " + b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - b[i]);
            if (Double.isNaN(d)) return Double.POSITIVE_INFINITY;
            m = Math.max(m, d);
        }
        return m;
    }

    /** max |a - b| / max |b| (0 when both are all zeros) */
    public static double maxRelative(float[] a, float[] ref) {
        double scale = 0;
        for (float v : ref) scale = Math.max(scale, Math.abs(v));
        double e = maxAbs(a, ref);
        return scale == 0 ? e : e / scale;
    }

    @Override
    public String toString() {
        return String.format(error == Math.rint(error) && tolerance == 0 ? "%-28s %-9s %10.0f  <= %7.0f  %s%s" : "%-28s %-9s %10.3e  <= %7.1e  %s%s", output, measure, error, tolerance, passed() ? "pass" : "FAIL",
                note == null || note.isEmpty() ? "" : "  (" + note + ")");
    }
}
