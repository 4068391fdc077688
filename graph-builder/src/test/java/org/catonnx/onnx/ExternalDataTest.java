package org.catonnx.onnx;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Models whose weights live in one external-data file: a > 2 GB model loaded by ORT, layout and sharing rules. */
class ExternalDataTest {
    @TempDir
    Path dir;

    // ---------------------------------------------------------------- > 2 GB

    private static final int BIG_TENSORS = 4;
    private static final int COLS = 1024;
    private static final int ROWS = 150 * 1024; // 600 MiB of float32 per tensor, 2.34 GiB in all

    /** The value of element (r, c) of big tensor t; cheap to recompute, so no copy is kept on the heap. */
    private static float bigValue(int t, int r, int c) {
        return (t + 1) * 1000f + (r % 4099) * 0.25f + c * 0.001f;
    }

    @Test
    void modelOver2GBLoadsFromPath() throws Exception {
        long bytesPerTensor = (long) ROWS * COLS * 4;
        long total = bytesPerTensor * BIG_TENSORS;
        assertTrue(total > (1L << 31), "the model must exceed 2 GB");
        long free = Files.getFileStore(dir).getUsableSpace();
        long need = total + (512L << 20);
        if (free < need) System.out.println("ExternalDataTest: skipping the > 2 GB model: " + dir + " has " + (free >> 20)
                + " MiB free, needs " + (need >> 20) + " MiB");
        Assumptions.assumeTrue(free >= need, "temp dir " + dir + " has " + (free >> 20) + " MiB free, needs " + (need >> 20) + " MiB");

        Path model = dir.resolve("big.onnx");
        Path data = dir.resolve("big.onnx.data");
        {
            // the weights exist only as direct buffers (off-heap) until they are written
            Graph g = Graph.create("big");
            Value ids = g.input("ids", DType.INT64, "n");
            Value sum = null;
            for (int t = 0; t < BIG_TENSORS; t++) {
                ByteBuffer b = ByteBuffer.allocateDirect(Math.toIntExact(bytesPerTensor)).order(ByteOrder.LITTLE_ENDIAN);
                FloatBuffer f = b.asFloatBuffer();
                for (int r = 0, i = 0; r < ROWS; r++) {
                    for (int c = 0; c < COLS; c++) f.put(i++, bigValue(t, r, c));
                }
                Value w = g.parameter("layer" + t + ".weight", new TensorData(DType.FLOAT, new long[] {ROWS, COLS}, b));
                Value rows = g.gather(w, ids, 0);
                sum = sum == null ? rows : g.add(sum, rows);
            }
            g.output("y", sum);
            try (ExternalData ext = new ExternalData(data, data.getFileName().toString())) {
                new OnnxModel(g).write(model, ext, 1024);
                assertEquals(ext.size(), ext.ref("layer3.weight").offset + bytesPerTensor);
            }
        }
        System.gc(); // lets the direct buffers go before ORT maps the weights
        assertTrue(Files.size(model) < 64 * 1024, "model file holds no weights: " + Files.size(model));
        assertTrue(Files.size(data) >= total, "data file size " + Files.size(data));

        long[] ids = {0, 4098, ROWS - 1, 77777, 4099};
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, TensorData> out;
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions();
             OrtSession s = env.createSession(model.toString(), so)) {
            out = OrtRunner.run(env, s, Map.of("ids", TensorData.ofLongs(ids, ids.length)));
        }
        TensorData y = out.get("y");
        assertArrayEquals(new long[] {ids.length, COLS}, y.shape());
        float[] got = y.toFloats();
        for (int i = 0; i < ids.length; i++) {
            for (int c = 0; c < COLS; c++) {
                float e = 0;
                for (int t = 0; t < BIG_TENSORS; t++) e = t == 0 ? bigValue(t, (int) ids[i], c) : e + bigValue(t, (int) ids[i], c);
                float a = got[i * COLS + c];
                if (Math.abs(a - e) > 1e-5 * Math.abs(e)) {
                    throw new AssertionError("row " + ids[i] + " col " + c + ": expected " + e + ", got " + a);
                }
            }
        }
    }

    // ---------------------------------------------------------------- layout and sharing

    private static TensorData randomFloats(Random r, long... shape) {
        float[] v = new float[Math.toIntExact(TensorData.numElements(shape))];
        for (int i = 0; i < v.length; i++) v[i] = r.nextFloat() * 2 - 1;
        return TensorData.ofFloats(v, shape);
    }

    private static Map<String, String> externalEntries(OnnxMl.TensorProto t) {
        Map<String, String> m = new HashMap<>();
        for (OnnxMl.StringStringEntryProto e : t.getExternalDataList()) m.put(e.getKey(), e.getValue());
        return m;
    }

    private static byte[] readAt(Path file, long offset, long length) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(length));
            while (b.hasRemaining()) {
                if (ch.read(b, offset + b.position()) < 0) throw new IOException("data file ends early");
            }
            return b.array();
        }
    }

    private static byte[] bytes(TensorData d) {
        ByteBuffer b = d.bytes();
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return a;
    }

    /** Checks every initializer of the model file: external ones aligned and holding the right bytes. */
    private static Map<String, Long> checkInitializers(Path model, Path data, Map<String, TensorData> expected, long minBytes)
            throws IOException {
        OnnxMl.ModelProto p = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(model));
        Map<String, Long> offsets = new LinkedHashMap<>();
        for (OnnxMl.TensorProto t : p.getGraph().getInitializerList()) {
            TensorData d = expected.get(t.getName());
            if (d == null) continue; // constants made by the graph itself
            if (d.byteSize() < minBytes) {
                assertFalse(t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL, t.getName() + " stays inline");
                assertArrayEquals(bytes(d), t.getRawData().toByteArray(), t.getName());
                continue;
            }
            assertEquals(OnnxMl.TensorProto.DataLocation.EXTERNAL, t.getDataLocation(), t.getName());
            assertTrue(t.getRawData().isEmpty(), t.getName() + " has no inline data");
            Map<String, String> e = externalEntries(t);
            assertEquals(data.getFileName().toString(), e.get("location"));
            long offset = Long.parseLong(e.get("offset")), length = Long.parseLong(e.get("length"));
            assertEquals(d.byteSize(), length, t.getName());
            long align = d.byteSize() >= 16 * 1024 ? 4096 : 64;
            assertEquals(0, offset % align, t.getName() + " at offset " + offset + " is not aligned to " + align);
            assertArrayEquals(bytes(d), readAt(data, offset, length), t.getName() + " bytes in the data file");
            offsets.put(t.getName(), offset);
        }
        return offsets;
    }

    @Test
    void smallModelsShareOneDataFile() throws Exception {
        Random rnd = new Random(7);
        TensorData shared = randomFloats(rnd, 64, 64);       // 16 KiB exactly: page aligned
        TensorData encW = randomFloats(rnd, 64, 10);         // 2560 B: 64-byte aligned
        TensorData encB = randomFloats(rnd, 10);             // 40 B
        TensorData decW = randomFloats(rnd, 64, 100);        // 25600 B: page aligned
        TensorData tiny = randomFloats(rnd, 3);              // 12 B: below minBytes, inline
        long minBytes = 16;

        // two models (as an encoder and a decoder would be) using the same initializer name for one tensor
        Graph enc = Graph.create("encoder");
        Value x = enc.input("x", DType.FLOAT, "batch", 64);
        Value h = x.matMul(enc.parameter("shared.weight", shared));
        enc.output("logits", h.matMul(enc.parameter("enc.weight", encW)).add(enc.parameter("enc.bias", encB)));

        Graph dec = Graph.create("decoder");
        Value z = dec.input("z", DType.FLOAT, "batch", 64);
        Value hd = z.matMul(dec.parameter("shared.weight", shared));
        dec.output("out", hd.matMul(dec.parameter("dec.weight", decW)).add(dec.parameter("tiny", tiny).reshape(1, 3).matMul(
                dec.constant(TensorData.ofFloats(new float[300], 3, 100)))));

        Path data = dir.resolve("weights.data");
        Path encFile = dir.resolve("encoder.onnx"), decFile = dir.resolve("decoder.onnx");
        long sizeAfterEncoder;
        try (ExternalData ext = new ExternalData(data, "weights.data")) {
            new OnnxModel(enc).write(encFile, ext, minBytes);
            sizeAfterEncoder = ext.size();
            new OnnxModel(dec).write(decFile, ext, minBytes);
            // the shared tensor is not written again: the decoder adds only its own weights
            long decOwn = ext.size() - sizeAfterEncoder;
            assertTrue(decOwn < decW.byteSize() + 2 * 4096,
                    "decoder added " + decOwn + " bytes");
            // a different tensor under a name already written is refused
            assertThrows(GraphBuildException.class, () -> ext.put("shared.weight", randomFloats(rnd, 64, 64)));
            assertEquals(ext.size(), Files.size(data));
        }

        Map<String, TensorData> expected = Map.of("shared.weight", shared, "enc.weight", encW, "enc.bias", encB,
                "dec.weight", decW, "tiny", tiny);
        Map<String, Long> encOffsets = checkInitializers(encFile, data, expected, minBytes);
        Map<String, Long> decOffsets = checkInitializers(decFile, data, expected, minBytes);
        assertEquals(List.of("shared.weight", "enc.weight", "enc.bias"), List.copyOf(encOffsets.keySet()));
        assertEquals(encOffsets.get("shared.weight"), decOffsets.get("shared.weight"), "both models point at one copy");
        assertEquals(0L, encOffsets.get("shared.weight"));
        assertTrue(decOffsets.get("dec.weight") >= sizeAfterEncoder);
        // the Reshape target (int64[2], 16 bytes >= minBytes) stays inline: ORT reads shape inputs at load time
        OnnxMl.ModelProto dp = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(decFile));
        long intInits = dp.getGraph().getInitializerList().stream().filter(t -> t.getDataType() == DType.INT64.onnx).peek(t ->
                assertFalse(t.getDataLocation() == OnnxMl.TensorProto.DataLocation.EXTERNAL, t.getName() + " must stay inline")).count();
        assertEquals(1, intInits);

        // both load from their paths and compute what the weights say
        float[] in = new float[2 * 64];
        for (int i = 0; i < in.length; i++) in[i] = rnd.nextFloat();
        TensorData xin = TensorData.ofFloats(in, 2, 64);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions();
             OrtSession se = env.createSession(encFile.toString(), so);
             OrtSession sd = env.createSession(decFile.toString(), so)) {
            float[] logits = OrtRunner.run(env, se, Map.of("x", xin)).get("logits").toFloats();
            float[] out = OrtRunner.run(env, sd, Map.of("z", xin)).get("out").toFloats();
            float[] hidden = matMul(in, shared.toFloats(), 2, 64, 64);
            float[] el = matMul(hidden, encW.toFloats(), 2, 64, 10);
            for (int i = 0; i < el.length; i++) el[i] += encB.toFloats()[i % 10];
            float[] ed = matMul(hidden, decW.toFloats(), 2, 64, 100);
            assertClose(el, logits);
            assertClose(ed, out);
        }
    }

    @Test
    void initializerBelowThresholdStaysInline() throws Exception {
        Graph g = Graph.create("inline");
        TensorData w = randomFloats(new Random(3), 8, 8);
        Value x = g.input("x", DType.FLOAT, 1, 8);
        g.output("y", x.matMul(g.parameter("w", w)));
        Path data = dir.resolve("inline.data"), model = dir.resolve("inline.onnx");
        try (ExternalData ext = new ExternalData(data, "inline.data")) {
            new OnnxModel(g).write(model, ext, 1 << 20);
            assertEquals(0, ext.size());
        }
        checkInitializers(model, data, Map.of("w", w), 1 << 20);
    }

    private static float[] matMul(float[] a, float[] b, int m, int k, int n) {
        float[] o = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double) a[i * k + p] * b[p * n + j];
                o[i * n + j] = (float) s;
            }
        }
        return o;
    }

    private static void assertClose(float[] e, float[] a) {
        assertEquals(e.length, a.length);
        for (int i = 0; i < e.length; i++) {
            assertTrue(Math.abs(e[i] - a[i]) <= 1e-5 * Math.max(1, Math.abs(e[i])), "element " + i + ": " + e[i] + " vs " + a[i]);
        }
    }
}
