package org.catonnx.nn;

import org.catonnx.onnx.TensorData;

/**
 * PyTorch's F.interpolate(mode="bilinear", align_corners=False) of a [rows, cols] matrix to
 * [rows, newCols]: rows keep their size, so only columns are interpolated. Adaptive CAT
 * resizes proj_fx this way for chunk sizes below the trained one (CAT.md section 5).
 */
public final class BilinearResize {
    private BilinearResize() {}

    /** For each output column x: out[:, x] = w0[x] * in[:, x0[x]] + w1[x] * in[:, x1[x]]. */
    public static final class Plan {
        public final long[] x0;
        public final long[] x1;
        public final float[] w0;
        public final float[] w1;

        Plan(int cols, int newCols) {
            x0 = new long[newCols];
            x1 = new long[newCols];
            w0 = new float[newCols];
            w1 = new float[newCols];
            float scale = (float) cols / newCols;
            for (int x = 0; x < newCols; x++) {
                float src = Math.max(scale * (x + 0.5f) - 0.5f, 0f);
                int i = (int) src;
                x0[x] = i;
                x1[x] = i + (i < cols - 1 ? 1 : 0);
                w1[x] = src - i;
                w0[x] = 1f - w1[x];
            }
        }
    }

    public static Plan plan(int cols, int newCols) {
        return new Plan(cols, newCols);
    }

    public static TensorData columns(TensorData w, int newCols) {
        int rows = (int) w.dim(0), cols = (int) w.dim(1);
        Plan p = plan(cols, newCols);
        float[] in = w.toFloats();
        float[] out = new float[rows * newCols];
        for (int x = 0; x < newCols; x++) {
            for (int r = 0; r < rows; r++) {
                out[r * newCols + x] = p.w0[x] * in[r * cols + (int) p.x0[x]] + p.w1[x] * in[r * cols + (int) p.x1[x]];
            }
        }
        return TensorData.ofFloats(out, rows, newCols);
    }
}
