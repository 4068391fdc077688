package org.catonnx.nn;

import org.catonnx.onnx.TensorData;

/**
 * PyTorch's F.interpolate(mode="bilinear", align_corners=False) of a [rows, cols] matrix to
 * [rows, newCols]: rows keep their size, so only columns are interpolated. Adaptive CAT
 * resizes proj_fx this way for chunk sizes below the trained one (CAT.md section 5).
 */
public final class BilinearResize {
    private BilinearResize() {}

    public static TensorData columns(TensorData w, int newCols) {
        int rows = (int) w.dim(0), cols = (int) w.dim(1);
        float[] in = w.toFloats();
        float[] out = new float[rows * newCols];
        float scale = (float) cols / newCols;
        for (int x = 0; x < newCols; x++) {
            float src = Math.max(scale * (x + 0.5f) - 0.5f, 0f);
            int x0 = (int) src;
            int x1 = x0 + (x0 < cols - 1 ? 1 : 0);
            float l1 = src - x0, l0 = 1f - l1;
            for (int r = 0; r < rows; r++) out[r * newCols + x] = l0 * in[r * cols + x0] + l1 * in[r * cols + x1];
        }
        return TensorData.ofFloats(out, rows, newCols);
    }
}
