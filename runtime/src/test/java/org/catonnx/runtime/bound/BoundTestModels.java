package org.catonnx.runtime.bound;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.ExternalData;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.TensorData;
import org.catonnx.onnx.Value;

/** Tiny model files for bound-session tests, built with the project's graph API. */
final class BoundTestModels {
    private BoundTestModels() {}

    /** y = x + 1, x of {@code type} and {@code shape}. */
    static Path addOne(Path dir, DType type, long... shape) {
        Graph g = Graph.create("add_one");
        Value x = g.input("x", type, boxed(shape));
        g.output("y", g.add(x, g.constant(one(type))));
        return write(dir.resolve("add_one_" + type.name().toLowerCase() + ".onnx"), g, false);
    }

    /** y = a @ w, a float32 [m, k] input, w float32 [k, n] (row-major 0.5 * i - 1) in an external data file. */
    static Path matMul(Path dir, int m, int k, int n) {
        Graph g = Graph.create("mat_mul");
        Value a = g.input("a", DType.FLOAT, (long) m, (long) k);
        g.output("y", g.matMul(a, g.initializer("w", TensorData.ofFloats(weights(k, n), k, n), false)));
        return write(dir.resolve("mat_mul.onnx"), g, true);
    }

    /** The weights of {@link #matMul}. */
    static float[] weights(int k, int n) {
        float[] w = new float[k * n];
        for (int i = 0; i < w.length; i++) w[i] = 0.5f * i - 1;
        return w;
    }

    /** Plain row-major a [m, k] @ w [k, n]. */
    static float[] matMulReference(float[] a, float[] w, int m, int k, int n) {
        float[] y = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float s = 0;
                for (int c = 0; c < k; c++) s += a[i * k + c] * w[c * n + j];
                y[i * n + j] = s;
            }
        }
        return y;
    }

    /** float32 values as float16 bytes (little-endian). */
    static byte[] halfBytes(float... values) {
        return bytes(TensorData.ofFloats(values, values.length).castTo(DType.FLOAT16));
    }

    /** float16 bytes (little-endian) as float32 values. */
    static float[] halfValues(byte[] half) {
        return new TensorData(DType.FLOAT16, new long[] {half.length / 2}, java.nio.ByteBuffer.wrap(half)).toFloats();
    }

    static byte[] bytes(TensorData t) {
        byte[] out = new byte[(int) t.byteSize()];
        t.bytes().get(out);
        return out;
    }

    private static TensorData one(DType type) {
        switch (type) {
            case INT64: return TensorData.ofLongs(new long[] {1});
            case INT32: return TensorData.ofInts(new int[] {1});
            default: return TensorData.ofFloats(new float[] {1}).castTo(type);
        }
    }

    private static Object[] boxed(long[] shape) {
        Object[] dims = new Object[shape.length];
        for (int i = 0; i < shape.length; i++) dims[i] = shape[i];
        return dims;
    }

    private static Path write(Path file, Graph g, boolean externalData) {
        try {
            if (externalData) {
                String location = file.getFileName() + ".data";
                try (ExternalData ext = new ExternalData(file.resolveSibling(location), location)) {
                    new OnnxModel(g).write(file, ext, 0);
                }
            } else {
                new OnnxModel(g).write(file, null, 0);
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
