package org.catonnx.runtime.bound;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.TensorData;
import org.catonnx.onnx.Value;
import org.catonnx.runtime.CustomOps;
import org.catonnx.runtime.Device;
import org.catonnx.runtime.InferenceException;
import org.catonnx.runtime.ModelSession;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.SessionConfig;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bound sessions on the CPU provider with host buffers; skipped only where the native library was not built. */
class BoundSessionTest {
    private static final BoundSession.Options DEFAULTS = BoundSession.Options.defaults();
    private static BoundRuntime rt;

    @TempDir
    Path dir;

    @BeforeAll
    static void needsNativeLibrary() {
        Assumptions.assumeTrue(BoundRuntime.cpuAvailable(), "native library not built (Linux x86-64 only; -Dcatonnx.native.skip)");
        rt = BoundRuntime.cpu();
    }

    @Test
    void addOneIntoSeparateOutput() {
        try (BoundSession s = rt.open(BoundTestModels.addOne(dir, DType.FLOAT, 2, 3), DEFAULTS);
             BoundBuffer x = rt.allocate(DType.FLOAT, 2, 3);
             BoundBuffer y = rt.allocate(DType.FLOAT, 2, 3)) {
            assertEquals(List.of("x"), s.inputNames());
            assertEquals(List.of("y"), s.outputNames());
            assertEquals(Device.CPU, rt.device());
            assertArrayEquals(new float[6], y.readFloats(0, 6), "zero-filled");
            x.write(new float[] {0, 1, 2, 3, 4, 5}, 0);
            s.bindInput("x", x);
            s.bindOutput("y", y);
            s.run();
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, y.readFloats(0, 6));
            // bindings persist: a new write is seen by the next run without binding again
            x.write(new float[] {10, 20}, 4);
            s.run();
            assertArrayEquals(new float[] {1, 2, 3, 4, 11, 21}, y.readFloats(0, 6));
            assertArrayEquals(new float[] {0, 1, 2, 3, 10, 20}, x.readFloats(0, 6), "input untouched");
        }
    }

    @Test
    void outputBoundToTheInputBufferUpdatesInPlace() {
        for (DType t : new DType[] {DType.INT64, DType.INT32, DType.FLOAT, DType.FLOAT16}) {
            try (BoundSession s = rt.open(BoundTestModels.addOne(dir, t, 4), DEFAULTS); BoundBuffer x = rt.allocate(t, 4)) {
                write(x, 7, -2, 0, 40);
                s.bindInput("x", x);
                s.bindOutput("y", x);
                for (int i = 0; i < 3; i++) s.run();
                assertArrayEquals(new float[] {10, 1, 3, 43}, read(x), t.toString());
            }
        }
    }

    @Test
    void matMulWithExternalWeights() {
        int m = 3, k = 5, n = 4;
        Path model = BoundTestModels.matMul(dir, m, k, n);
        assertTrue(Files.exists(dir.resolve("mat_mul.onnx.data")), "the weight is external data beside the model");
        float[] a = new float[m * k];
        for (int i = 0; i < a.length; i++) a[i] = (i % 7) - 3.5f;
        try (BoundSession s = rt.open(model, DEFAULTS.withIntraOpThreads(1));
             BoundBuffer in = rt.allocate(DType.FLOAT, m, k);
             BoundBuffer out = rt.allocate(DType.FLOAT, m, n)) {
            in.write(a, 0);
            s.bindInput("a", in);
            s.bindOutput("y", out);
            s.run();
            assertArrayEquals(BoundTestModels.matMulReference(a, BoundTestModels.weights(k, n), m, k, n), out.readFloats(0, m * n), 1e-5f);
        }
    }

    @Test
    void shapeViewsOverOneBuffer() {
        try (BoundSession s = rt.open(BoundTestModels.matMul(dir, 2, 3, 2), DEFAULTS);
             BoundBuffer in = rt.allocate(DType.FLOAT, 16);
             BoundBuffer out = rt.allocate(DType.FLOAT, 16)) {
            in.write(new float[] {1, 0, 0, 0, 1, 0}, 0);
            s.bindInput("a", in, 2, 3);
            s.bindOutput("y", out, 2, 2);
            s.run();
            float[] w = BoundTestModels.weights(3, 2);
            assertArrayEquals(new float[] {w[0], w[1], w[2], w[3]}, out.readFloats(0, 4));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.bindInput("a", in, 3, 6));
            assertTrue(e.getMessage().contains("needs 72 bytes") && e.getMessage().contains("has 64"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> s.bindInput("a", in, -1, 3));
        }
    }

    @Test
    void customOpLibraryMatchesTheJavaApi() {
        Graph g = Graph.create("cat_attention");
        Value q = g.input("q", DType.FLOAT, 1L, 2L, 6L, 4L);
        Value k = g.input("k", DType.FLOAT, 1L, 1L, 6L, 4L);
        Value v = g.input("v", DType.FLOAT, 1L, 1L, 6L, 4L);
        g.output("y", g.catAttention(q, k, v, 3, 0.5f));
        byte[] model = new OnnxModel(g).toBytes();
        Path file = dir.resolve("cat_attention.onnx");
        write(file, model);
        Map<String, TensorData> feeds = Map.of("q", ramp(48, 0.1f, 1, 2, 6, 4), "k", ramp(24, -0.2f, 1, 1, 6, 4),
                "v", ramp(24, 0.3f, 1, 1, 6, 4));
        Path lib = CustomOps.cpuLibrary();
        float[] want;
        try (ModelSession s = OrtRuntime.get().open(model, SessionConfig.defaults().withCustomOpLibrary(lib))) {
            want = s.run(feeds).get("y").toFloats();
        }
        try (BoundSession s = rt.open(file, DEFAULTS.withCustomOpLibrary(lib));
             BoundBuffer bq = rt.allocate(DType.FLOAT, 1, 2, 6, 4);
             BoundBuffer bk = rt.allocate(DType.FLOAT, 1, 1, 6, 4);
             BoundBuffer bv = rt.allocate(DType.FLOAT, 1, 1, 6, 4);
             BoundBuffer y = rt.allocate(DType.FLOAT, 1, 2, 6, 4)) {
            bq.write(feeds.get("q").toFloats(), 0);
            bk.write(feeds.get("k").toFloats(), 0);
            bv.write(feeds.get("v").toFloats(), 0);
            s.bindInput("q", bq);
            s.bindInput("k", bk);
            s.bindInput("v", bv);
            s.bindOutput("y", y);
            s.run();
            assertArrayEquals(want, y.readFloats(0, 48), 1e-6f);
        }
    }

    @Test
    void bufferReadsWritesAndCopies() {
        try (BoundBuffer a = rt.allocate(DType.INT64, 2, 4); BoundBuffer b = rt.allocate(DType.INT64, 8);
             BoundBuffer f = rt.allocate(DType.FLOAT16, 3)) {
            assertEquals(DType.INT64, a.type());
            assertArrayEquals(new long[] {2, 4}, a.shape());
            assertEquals(64, a.bytes());
            a.write(new long[] {1, 2, 3, 4, 5, 6, 7, 8}, 0);
            b.copyFrom(a, 2, 5, 3);
            assertArrayEquals(new long[] {0, 0, 0, 0, 0, 3, 4, 5}, b.readLongs(0, 8));
            a.copyFrom(a, 0, 4, 4);  // disjoint ranges of one buffer
            assertArrayEquals(new long[] {1, 2, 3, 4, 1, 2, 3, 4}, a.readLongs(0, 8));
            b.writeBytes(new byte[] {9, 0, 0, 0, 0, 0, 0, 1}, 8);
            assertEquals((1L << 56) + 9, b.readLongs(1, 1)[0]);
            assertArrayEquals(new byte[] {9, 0}, b.readBytes(8, 2));
            f.writeBytes(BoundTestModels.halfBytes(1.5f, -2f, 0.25f), 0);
            assertArrayEquals(new float[] {1.5f, -2f, 0.25f}, BoundTestModels.halfValues(f.readBytes(0, 6)));
            assertEquals(0, a.readLongs(8, 0).length, "an empty range at the end is fine");
        }
    }

    @Test
    void outOfBoundsAndWrongTypesAreRefused() {
        try (BoundBuffer a = rt.allocate(DType.INT64, 4); BoundBuffer i32 = rt.allocate(DType.INT32, 4);
             BoundBuffer f = rt.allocate(DType.FLOAT, 4)) {
            assertThrows(IllegalArgumentException.class, () -> a.write(new long[] {1, 2}, 3));
            assertThrows(IllegalArgumentException.class, () -> a.write(new long[] {1}, -1));
            assertThrows(IllegalArgumentException.class, () -> a.readLongs(2, 3));
            assertThrows(IllegalArgumentException.class, () -> a.readLongs(0, -1));
            assertThrows(IllegalArgumentException.class, () -> a.readLongs(Long.MAX_VALUE, 1));
            assertThrows(IllegalArgumentException.class, () -> a.writeBytes(new byte[2], 31));
            assertThrows(IllegalArgumentException.class, () -> a.readBytes(30, 3));
            assertThrows(IllegalArgumentException.class, () -> a.write(new int[] {1}, 0), "int[] into int64");
            assertThrows(IllegalArgumentException.class, () -> i32.readLongs(0, 1));
            assertThrows(IllegalArgumentException.class, () -> f.write(new long[] {1}, 0));
            assertThrows(IllegalArgumentException.class, () -> a.copyFrom(i32, 0, 0, 1), "element sizes differ");
            assertThrows(IllegalArgumentException.class, () -> i32.copyFrom(f, 2, 0, 3), "source range");
            assertThrows(IllegalArgumentException.class, () -> i32.copyFrom(f, 0, 2, 3), "destination range");
            assertThrows(IllegalArgumentException.class, () -> a.copyFrom(a, 0, 1, 2), "overlap");
            i32.copyFrom(f, 0, 0, 4);  // same element size: bits are copied
            assertThrows(IllegalArgumentException.class, () -> rt.allocate(DType.FLOAT, 2, -1));
            assertThrows(IllegalArgumentException.class, () -> rt.allocate(DType.INT64, Long.MAX_VALUE / 4, 3));
        }
    }

    @Test
    void unknownNamesListTheGraphsNames() {
        try (BoundSession s = rt.open(BoundTestModels.addOne(dir, DType.FLOAT, 2), DEFAULTS); BoundBuffer x = rt.allocate(DType.FLOAT, 2)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.bindInput("z", x));
            assertTrue(e.getMessage().contains("'z'") && e.getMessage().contains("[x]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> s.bindOutput("x", x));
            assertTrue(e.getMessage().contains("outputs: [y]"), e.getMessage());
        }
    }

    @Test
    void onnxRuntimeErrorsBecomeExceptions() throws IOException {
        try (BoundSession s = rt.open(BoundTestModels.addOne(dir, DType.FLOAT, 2), DEFAULTS);
             BoundBuffer x = rt.allocate(DType.FLOAT, 2); BoundBuffer y = rt.allocate(DType.FLOAT, 2);
             BoundBuffer wrongType = rt.allocate(DType.INT64, 2); BoundBuffer wrongShape = rt.allocate(DType.FLOAT, 3)) {
            s.bindOutput("y", y);
            InferenceException e = assertThrows(InferenceException.class, s::run, "input x is not bound");
            assertTrue(e.getMessage().startsWith("Run: "), e.getMessage());
            s.bindInput("x", wrongType);
            assertThrows(InferenceException.class, s::run);
            s.bindInput("x", wrongShape);
            assertThrows(InferenceException.class, s::run);
            s.bindInput("x", x);  // the session still works after failed runs
            s.run();
            assertArrayEquals(new float[] {1, 1}, y.readFloats(0, 2));
        }
        Path garbage = dir.resolve("garbage.onnx");
        Files.write(garbage, new byte[] {1, 2, 3, 4, 5});
        InferenceException e = assertThrows(InferenceException.class, () -> rt.open(garbage, DEFAULTS));
        assertTrue(e.getMessage().contains("cannot load model"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> rt.open(dir.resolve("missing.onnx"), DEFAULTS));
        Path model = BoundTestModels.addOne(dir, DType.FLOAT, 2);
        assertThrows(IllegalArgumentException.class, () -> rt.open(model, DEFAULTS.withCustomOpLibrary(dir.resolve("nope.so"))));
        assertThrows(IllegalArgumentException.class, () -> rt.open(model, DEFAULTS.withCudaGraph(true)), "CUDA graphs on CPU");
    }

    @Test
    void closeIsIdempotentAndUseAfterCloseIsRefused() {
        BoundSession s = rt.open(BoundTestModels.addOne(dir, DType.INT64, 2), DEFAULTS);
        BoundBuffer x = rt.allocate(DType.INT64, 2);
        BoundBuffer y = rt.allocate(DType.INT64, 2);
        s.bindInput("x", x);
        s.bindOutput("y", y);
        s.run();
        y.close();
        assertThrows(IllegalStateException.class, s::run, "a bound buffer was closed");
        y.close();
        assertThrows(IllegalStateException.class, () -> y.readLongs(0, 1));
        assertThrows(IllegalStateException.class, () -> y.write(new long[] {1}, 0));
        assertThrows(IllegalStateException.class, () -> y.readBytes(0, 1));
        assertThrows(IllegalStateException.class, () -> x.copyFrom(y, 0, 0, 1));
        assertThrows(IllegalStateException.class, () -> s.bindOutput("y", y));
        s.bindOutput("y", x);  // rebinding to an open buffer makes the session usable again
        s.run();
        assertArrayEquals(new long[] {1, 1}, x.readLongs(0, 2));
        s.close();
        s.close();
        assertThrows(IllegalStateException.class, s::run);
        assertThrows(IllegalStateException.class, () -> s.bindInput("x", x));
        assertThrows(IllegalStateException.class, s::inputNames);
        assertArrayEquals(new long[] {1, 1}, x.readLongs(0, 2), "closing a session leaves its buffers open");
        x.close();
        x.close();
    }

    // ---------------------------------------------------------------- helpers

    /** Writes small integral values into a buffer of any of the tested types. */
    static void write(BoundBuffer b, long... values) {
        switch (b.type()) {
            case INT64: b.write(values, 0); break;
            case INT32: {
                int[] v = new int[values.length];
                for (int i = 0; i < v.length; i++) v[i] = (int) values[i];
                b.write(v, 0);
                break;
            }
            case FLOAT: b.write(floats(values), 0); break;
            case FLOAT16: b.writeBytes(BoundTestModels.halfBytes(floats(values)), 0); break;
            default: throw new IllegalArgumentException(b.type().toString());
        }
    }

    /** The whole buffer as float32 values. */
    static float[] read(BoundBuffer b) {
        int n = (int) (b.bytes() / b.type().bytes);
        switch (b.type()) {
            case INT64: return floats(b.readLongs(0, n));
            case INT32: {
                int[] v = b.readInts(0, n);
                float[] f = new float[n];
                for (int i = 0; i < n; i++) f[i] = v[i];
                return f;
            }
            case FLOAT: return b.readFloats(0, n);
            case FLOAT16: return BoundTestModels.halfValues(b.readBytes(0, (int) b.bytes()));
            default: throw new IllegalArgumentException(b.type().toString());
        }
    }

    private static float[] floats(long[] values) {
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) f[i] = values[i];
        return f;
    }

    private static TensorData ramp(int n, float step, long... shape) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) Math.sin(i * step) * 2;
        return TensorData.ofFloats(v, shape);
    }

    private static void write(Path file, byte[] bytes) {
        try {
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
