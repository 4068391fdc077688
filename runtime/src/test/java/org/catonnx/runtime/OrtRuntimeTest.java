package org.catonnx.runtime;

import static org.junit.jupiter.api.Assertions.*;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.HalfFloats;
import org.catonnx.onnx.TensorData;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class OrtRuntimeTest {
    private static final OrtRuntime ORT = OrtRuntime.get();
    private static final SessionConfig CPU = SessionConfig.defaults();

    private static boolean cudaInBuild() {
        return OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA);
    }

    @Test
    void deviceParsing() {
        assertEquals(Device.CPU, Device.parse("cpu"));
        assertEquals(Device.CUDA, Device.parse(" CUDA "));
        assertEquals(Device.AUTO, Device.parse("Auto"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Device.parse("tpu"));
        assertTrue(e.getMessage().contains("tpu") && e.getMessage().contains("cpu, cuda, auto"), e.getMessage());
    }

    @Test
    void configWithersAreImmutable() {
        SessionConfig a = SessionConfig.defaults();
        SessionConfig b = a.withDevice(Device.CUDA).withTf32(true).withGpuMemLimitBytes(1L << 30).withIntraOpThreads(2)
                .withCustomOpLibrary(Path.of("libx.so"));
        assertEquals(Device.CPU, a.device());
        assertFalse(a.tf32());
        assertTrue(a.customOpLibraries().isEmpty());
        assertEquals(Device.CUDA, b.device());
        assertTrue(b.tf32());
        assertEquals(1L << 30, b.gpuMemLimitBytes());
        assertEquals(List.of(Path.of("libx.so")), b.customOpLibraries());
        assertThrows(IllegalArgumentException.class, () -> a.withIntraOpThreads(-1));
        assertThrows(UnsupportedOperationException.class, () -> b.customOpLibraries().add(Path.of("y")));
    }

    @Test
    void addFloatsAndIntrospection() {
        try (ModelSession s = ORT.open(TinyModels.addFloat(), CPU)) {
            assertEquals(List.of("a", "b"), s.inputNames());
            assertEquals(List.of("c"), s.outputNames());
            assertEquals(DType.FLOAT, s.input("a").type());
            assertArrayEquals(new long[] {-1}, s.input("a").shape());
            assertEquals("n", s.output("c").dimNames().get(0));
            assertEquals(OrtRuntime.CPU_PROVIDER, s.provider());
            Map<String, TensorData> out = s.run(Map.of(
                    "a", TensorData.ofFloats(new float[] {1, 2, 3}, 3),
                    "b", TensorData.ofFloats(new float[] {10, 20, 30}, 3)));
            assertEquals(Set.of("c"), out.keySet());
            assertArrayEquals(new float[] {11, 22, 33}, out.get("c").toFloats());
            assertArrayEquals(new long[] {3}, out.get("c").shape());
            // dynamic length
            assertArrayEquals(new float[] {5}, s.run(Map.of("a", TensorData.ofFloats(new float[] {2}, 1),
                    "b", TensorData.ofFloats(new float[] {3}, 1))).get("c").toFloats());
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"FLOAT", "DOUBLE", "FLOAT16", "BFLOAT16", "INT64", "INT32", "INT16", "INT8", "BOOL", "UINT8"})
    void identityRoundTripsEveryDtype(DType type) {
        long[] shape = {2, 3, 4};
        int n = 24;
        byte[] raw = new byte[n * type.bytes];
        new Random(type.ordinal()).nextBytes(raw);
        if (type == DType.BOOL) for (int i = 0; i < n; i++) raw[i] = (byte) (raw[i] & 1);
        try (ModelSession s = ORT.open(TinyModels.identity(type, shape), CPU)) {
            assertEquals(type, s.input("x").type());
            assertEquals(type, s.output("y").type());
            for (boolean direct : new boolean[] {false, true}) {
                ByteBuffer b = (direct ? ByteBuffer.allocateDirect(raw.length) : ByteBuffer.allocate(raw.length)).order(ByteOrder.LITTLE_ENDIAN);
                b.put(raw).flip();
                TensorData y = s.run(Map.of("x", new TensorData(type, shape, b))).get("y");
                assertEquals(type, y.type());
                assertArrayEquals(shape, y.shape());
                byte[] back = new byte[raw.length];
                y.bytes().get(back);
                assertArrayEquals(raw, back, type + (direct ? " direct" : " heap"));
            }
        }
    }

    @Test
    void castFloatToHalfAndBfloat16() {
        float[] v = {0f, 1.5f, -2.25f, 65504f, 1f / 1024, -0.5f};
        for (DType to : new DType[] {DType.FLOAT16, DType.BFLOAT16}) {
            try (ModelSession s = ORT.open(TinyModels.cast(DType.FLOAT, to), CPU)) {
                TensorData y = s.run(Map.of("x", TensorData.ofFloats(v, v.length))).get("y");
                assertEquals(to, y.type());
                for (int i = 0; i < v.length; i++) {
                    short expected = to == DType.FLOAT16 ? HalfFloats.floatToHalf(v[i]) : HalfFloats.floatToBf16(v[i]);
                    assertEquals(expected, y.bytes().getShort(i * 2), to + " element " + i);
                }
                assertArrayEquals(TensorData.ofFloats(v, v.length).castTo(to).toFloats(), y.toFloats());
            }
        }
        try (ModelSession s = ORT.open(TinyModels.cast(DType.FLOAT16, DType.FLOAT), CPU)) {
            TensorData half = TensorData.ofFloats(v, v.length).castTo(DType.FLOAT16);
            assertArrayEquals(half.toFloats(), s.run(Map.of("x", half)).get("y").toFloats());
        }
    }

    @Test
    void outputSubset() {
        try (ModelSession s = ORT.open(TinyModels.addMul(), CPU)) {
            Map<String, TensorData> in = Map.of("a", TensorData.ofFloats(new float[] {2, 3}, 2), "b", TensorData.ofFloats(new float[] {4, 5}, 2));
            Map<String, TensorData> all = s.run(in);
            assertEquals(List.of("sum", "prod"), List.copyOf(all.keySet()));
            Map<String, TensorData> prod = s.run(in, Set.of("prod"));
            assertEquals(Set.of("prod"), prod.keySet());
            assertArrayEquals(new float[] {8, 15}, prod.get("prod").toFloats());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.run(in, Set.of("quotient")));
            assertTrue(e.getMessage().contains("sum") && e.getMessage().contains("prod"), e.getMessage());
        }
    }

    @Test
    void badInputsAreRejectedWithWhatTheModelExpects() {
        try (ModelSession s = ORT.open(TinyModels.addFloat(), CPU)) {
            TensorData f = TensorData.ofFloats(new float[] {1}, 1);
            IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                    () -> s.run(Map.of("a", f, "bee", f)));
            assertTrue(unknown.getMessage().contains("bee"), unknown.getMessage());
            assertTrue(unknown.getMessage().contains("a: FLOAT[n]") && unknown.getMessage().contains("b: FLOAT[n]"), unknown.getMessage());

            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> s.run(Map.of("a", f)));
            assertTrue(missing.getMessage().contains("missing input(s) [b]"), missing.getMessage());

            IllegalArgumentException type = assertThrows(IllegalArgumentException.class,
                    () -> s.run(Map.of("a", f, "b", TensorData.ofDoubles(new double[] {1}, 1))));
            assertTrue(type.getMessage().contains("DOUBLE") && type.getMessage().contains("b: FLOAT[n]"), type.getMessage());

            IllegalArgumentException rank = assertThrows(IllegalArgumentException.class,
                    () -> s.run(Map.of("a", f, "b", TensorData.ofFloats(new float[] {1}, 1, 1))));
            assertTrue(rank.getMessage().contains("[1, 1]"), rank.getMessage());
        }
    }

    @Test
    void closedSessionRefusesToRun() {
        ModelSession s = ORT.open(TinyModels.identity(DType.INT64, 1), CPU);
        s.close();
        s.close();
        assertThrows(IllegalStateException.class, () -> s.run(Map.of("x", TensorData.ofLongs(new long[] {1}, 1))));
    }

    @Test
    void opensFromPathAndReportsMissingFile(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("id.onnx");
        Files.write(p, TinyModels.identity(DType.INT64, -1));
        try (ModelSession s = ORT.open(p, CPU)) {
            assertArrayEquals(new long[] {7, -8}, s.run(Map.of("x", TensorData.ofLongs(new long[] {7, -8}, 2))).get("y").toLongs());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ORT.open(dir.resolve("nope.onnx"), CPU));
        assertTrue(e.getMessage().contains("nope.onnx"));
        InferenceException bad = assertThrows(InferenceException.class, () -> ORT.open(new byte[] {1, 2, 3}, CPU));
        assertTrue(bad.getMessage().contains("cannot load model"), bad.getMessage());
    }

    @Test
    void profilingWritesATrace(@TempDir Path dir) {
        try (ModelSession s = ORT.open(TinyModels.addFloat(), CPU.withProfilingPrefix(dir.resolve("prof")))) {
            TensorData f = TensorData.ofFloats(new float[] {1}, 1);
            s.run(Map.of("a", f, "b", f));
            Path trace = s.endProfiling().orElseThrow();
            assertTrue(Files.isRegularFile(trace) || Files.isRegularFile(dir.resolve(trace.getFileName())), trace.toString());
        }
    }

    @Test
    void cudaOnCpuBuildFailsClearly() {
        Assumptions.assumeFalse(cudaInBuild(), "this build has the CUDA provider");
        assertFalse(OrtRuntime.cudaAvailable());
        ProviderUnavailableException e = assertThrows(ProviderUnavailableException.class,
                () -> ORT.open(TinyModels.addFloat(), CPU.withDevice(Device.CUDA)));
        assertTrue(e.getMessage().contains("CUDA was requested"), e.getMessage());
        assertTrue(e.getMessage().contains("onnxruntime_gpu") && e.getMessage().contains("gpu"), e.getMessage());
    }

    @Test
    void autoFallsBackToCpu() {
        Assumptions.assumeFalse(OrtRuntime.cudaAvailable(), "CUDA is usable here");
        try (ModelSession s = ORT.open(TinyModels.addFloat(), CPU.withDevice(Device.AUTO).withDisableCpuFallback(true))) {
            assertEquals(OrtRuntime.CPU_PROVIDER, s.provider());
            TensorData f = TensorData.ofFloats(new float[] {1, 2}, 2);
            assertArrayEquals(new float[] {2, 4}, s.run(Map.of("a", f, "b", f)).get("c").toFloats());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file",
            "libcudnn_adv.so.9: cannot open shared object file",
            "libcudart.so.12: cannot open shared object file"})
    void namesTheMissingCudaLibrary(String ortMessage) {
        String piece = OrtRuntime.missingCudaPiece(new RuntimeException(ortMessage));
        assertNotNull(piece);
        String lib = ortMessage.contains("cublas") ? "cuBLAS 12" : ortMessage.contains("cudnn") ? "cuDNN 9" : "CUDA 12 runtime";
        assertTrue(piece.contains(lib), piece);
        assertNull(OrtRuntime.missingCudaPiece(new RuntimeException("Invalid model: bad node")));
    }

    @Test
    void manyCreateRunCloseCycles() {
        byte[] model = TinyModels.addFloat();
        float[] ones = new float[256];
        java.util.Arrays.fill(ones, 1f);
        TensorData a = TensorData.ofFloats(ones, ones.length);
        for (int i = 0; i < 2000; i++) {
            try (ModelSession s = ORT.open(model, CPU)) {
                assertEquals(2f, s.run(Map.of("a", a, "b", a)).get("c").toFloats()[255]);
            }
        }
    }

    @Test
    @Tag("gpu")
    void runsOnCuda() {
        try (ModelSession s = ORT.open(TinyModels.addFloat(), CPU.withDevice(Device.CUDA).withGpuMemLimitBytes(1L << 30))) {
            assertEquals(OrtRuntime.CUDA_PROVIDER, s.provider());
            TensorData f = TensorData.ofFloats(new float[] {1.5f, -2f}, 2);
            assertArrayEquals(new float[] {3f, -4f}, s.run(Map.of("a", f, "b", f)).get("c").toFloats());
        }
        try (ModelSession s = ORT.open(TinyModels.addFloat(), CPU.withDevice(Device.AUTO))) {
            assertEquals(OrtRuntime.CUDA_PROVIDER, s.provider());
        }
    }
}
