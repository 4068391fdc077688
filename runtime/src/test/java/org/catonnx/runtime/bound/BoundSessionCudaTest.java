package org.catonnx.runtime.bound;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import org.catonnx.onnx.DType;
import org.catonnx.runtime.Device;
import org.catonnx.runtime.InferenceException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Bound sessions on CUDA device 0 with device buffers, with and without CUDA-graph capture and
 * replay; skipped without the CUDA library, ONNX Runtime's CUDA provider or a GPU.
 */
@Tag("gpu")
class BoundSessionCudaTest {
    private static BoundRuntime rt;

    @TempDir
    Path dir;

    @BeforeAll
    static void needsCuda() {
        Assumptions.assumeTrue(BoundRuntime.cudaAvailable(0), "no CUDA library, CUDA provider or GPU here");
        rt = BoundRuntime.cuda(0);
    }

    private static BoundSession.Options options(boolean cudaGraph) {
        return BoundSession.Options.defaults().withCudaGraph(cudaGraph);
    }

    @ParameterizedTest(name = "cudaGraph={0}")
    @ValueSource(booleans = {false, true})
    void addOneSeesWritesBetweenRuns(boolean cudaGraph) {
        try (BoundSession s = rt.open(BoundTestModels.addOne(dir, DType.FLOAT, 2, 3), options(cudaGraph));
             BoundBuffer x = rt.allocate(DType.FLOAT, 2, 3);
             BoundBuffer y = rt.allocate(DType.FLOAT, 2, 3)) {
            assertEquals(Device.CUDA, rt.device());
            s.bindInput("x", x);
            s.bindOutput("y", y);
            for (int step = 0; step < 5; step++) {  // past warm-up and capture into replays
                x.write(new float[] {step, 1, 2, 3, 4, -step}, 0);
                s.run();
                assertArrayEquals(new float[] {step + 1, 2, 3, 4, 5, 1 - step}, y.readFloats(0, 6), "step " + step);
            }
        }
    }

    @ParameterizedTest(name = "cudaGraph={0}")
    @ValueSource(booleans = {false, true})
    void outputBoundToTheInputBufferUpdatesInPlace(boolean cudaGraph) {
        for (DType t : new DType[] {DType.INT64, DType.INT32, DType.FLOAT, DType.FLOAT16}) {
            try (BoundSession s = rt.open(BoundTestModels.addOne(dir, t, 4), options(cudaGraph)); BoundBuffer x = rt.allocate(t, 4)) {
                BoundSessionTest.write(x, 7, -2, 0, 40);
                s.bindInput("x", x);
                s.bindOutput("y", x);
                s.run();                     // with CUDA graphs ORT executes the first run several times (BoundSession)
                float[] first = BoundSessionTest.read(x);
                if (!cudaGraph) assertArrayEquals(new float[] {8, -1, 1, 41}, first, t + " after 1 run");
                float k = first[0] - 7;
                assertTrue(k >= 1 && first[1] == -2 + k && first[2] == k && first[3] == 40 + k, t + " first run: " + java.util.Arrays.toString(first));
                for (int i = 0; i < 3; i++) s.run();
                assertArrayEquals(new float[] {first[0] + 3, first[1] + 3, first[2] + 3, first[3] + 3}, BoundSessionTest.read(x), t + " 3 runs later");
            }
        }
    }

    @ParameterizedTest(name = "cudaGraph={0}")
    @ValueSource(booleans = {false, true})
    void matMulWithExternalWeights(boolean cudaGraph) {
        int m = 4, k = 8, n = 3;
        float[] a = new float[m * k];
        for (int i = 0; i < a.length; i++) a[i] = (i % 5) - 2;
        try (BoundSession s = rt.open(BoundTestModels.matMul(dir, m, k, n), options(cudaGraph));
             BoundBuffer in = rt.allocate(DType.FLOAT, m, k);
             BoundBuffer out = rt.allocate(DType.FLOAT, m, n)) {
            in.write(a, 0);
            s.bindInput("a", in);
            s.bindOutput("y", out);
            for (int i = 0; i < 3; i++) s.run();
            // TF32 is off by default, so float32 matches the plain reference
            assertArrayEquals(BoundTestModels.matMulReference(a, BoundTestModels.weights(k, n), m, k, n), out.readFloats(0, m * n), 1e-4f);
        }
    }

    @Test
    void deviceBuffersReadWriteAndCopy() {
        try (BoundBuffer a = rt.allocate(DType.INT64, 8); BoundBuffer b = rt.allocate(DType.INT64, 8)) {
            assertArrayEquals(new long[8], a.readLongs(0, 8), "zero-filled");
            a.write(new long[] {1, 2, 3, 4, 5, 6, 7, 8}, 0);
            b.copyFrom(a, 2, 5, 3);
            assertArrayEquals(new long[] {0, 0, 0, 0, 0, 3, 4, 5}, b.readLongs(0, 8));
            a.copyFrom(a, 0, 4, 4);
            assertArrayEquals(new long[] {1, 2, 3, 4, 1, 2, 3, 4}, a.readLongs(0, 8));
            b.writeBytes(new byte[] {9}, 0);
            assertArrayEquals(new byte[] {9, 0}, b.readBytes(0, 2));
            assertThrows(IllegalArgumentException.class, () -> a.readLongs(7, 2));
        }
        try (BoundBuffer host = BoundRuntime.cpu().allocate(DType.INT64, 2); BoundBuffer dev = rt.allocate(DType.INT64, 2)) {
            assertThrows(IllegalArgumentException.class, () -> dev.copyFrom(host, 0, 0, 2), "across devices");
        }
    }

    @Test
    void errorsAreExceptions() {
        try (BoundSession s = rt.open(BoundTestModels.addOne(dir, DType.FLOAT, 2), options(false));
             BoundBuffer y = rt.allocate(DType.FLOAT, 2);
             BoundBuffer host = BoundRuntime.cpu().allocate(DType.FLOAT, 2)) {
            s.bindOutput("y", y);
            assertThrows(InferenceException.class, s::run, "input x is not bound");
            assertThrows(IllegalArgumentException.class, () -> s.bindInput("x", host), "a host buffer on a CUDA session");
        }
    }
    @Test
    void devicePoolCountsBuffersAndWhatOnnxRuntimeAllocates() {
        int m = 4, k = 512, n = 1024;  // 2 MiB of weights
        long weightBytes = 4L * k * n;
        BoundRuntime.PoolStats before = rt.poolStats(true);
        try (BoundBuffer b = rt.allocate(DType.FLOAT, 1024, 256)) {
            assertEquals(before.allocated() + (1 << 20), rt.poolStats(false).allocated(), "our buffer, 1 MiB");
        }
        assertEquals(before.allocated(), rt.poolStats(false).allocated(), "freed");
        assertEquals(before.reserved(), rt.poolStats(false).reserved(), "our buffers are never cached");

        Path model = BoundTestModels.matMul(dir, m, k, n);
        try (BoundSession s = rt.open(model, options(true));
             BoundBuffer in = rt.allocate(DType.FLOAT, m, k);
             BoundBuffer out = rt.allocate(DType.FLOAT, m, n)) {
            long opened = rt.poolStats(false).allocated() - before.allocated();
            assertTrue(opened >= weightBytes, "ONNX Runtime's weights come from the pool: " + opened + " bytes");
            s.bindInput("a", in);
            s.bindOutput("y", out);
            for (int i = 0; i < 3; i++) s.run();
            BoundRuntime.PoolStats ran = rt.poolStats(false);
            assertTrue(ran.peakAllocated() >= ran.allocated() && ran.reserved() >= ran.allocated(), ran.toString());
        }
        BoundRuntime.PoolStats closed = rt.poolStats(false);
        assertEquals(before.allocated(), closed.allocated(), "everything handed back on close");
        assertEquals(before.reserved(), closed.reserved(), "the closed session's cached blocks go back to the driver");

        try (BoundSession s = rt.open(model, options(false).withDevicePool(false))) {
            assertEquals(before.allocated(), rt.poolStats(false).allocated(), "without the pool ONNX Runtime uses its own arena");
        }
    }
}
