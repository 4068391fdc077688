package org.catonnx.exporter.checkpoint;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.TensorData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    private static Map<String, TensorData> sample() {
        float[] f = {1.5f, -2.25f, 0f, 3.0e-3f, 65504f, -0.0f};
        Map<String, TensorData> m = new LinkedHashMap<>();
        m.put("z.f32", TensorData.ofFloats(f, 2, 3));
        m.put("a.f16", TensorData.ofFloats(f, 3, 2).castTo(DType.FLOAT16));
        m.put("m.bf16", TensorData.ofFloats(f, 6).castTo(DType.BFLOAT16));
        m.put("ids", TensorData.ofLongs(new long[] {0, -1, Long.MAX_VALUE, 42}, 4));
        m.put("mask", TensorData.ofBools(new boolean[] {true, false, true}, 3));
        m.put("scalar", TensorData.ofFloats(new float[] {7f}));
        m.put("empty", TensorData.ofFloats(new float[0], 0, 5));
        return m;
    }

    @Test
    void roundTripKeepsOrderDtypesValuesAndMetadata() throws IOException {
        Map<String, TensorData> in = sample();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("note", "ünïcødé \"quoted\"");
        Path f = dir.resolve("rt.safetensors");
        SafetensorsWriter.write(f, in, meta);

        byte[] raw = Files.readAllBytes(f);
        long headerLen = RawFiles.headerLength(raw);
        assertEquals(0, headerLen % 8);
        assertTrue(new String(raw, 8, (int) headerLen, StandardCharsets.UTF_8).startsWith("{\"__metadata__\""));

        try (SafetensorsFile st = SafetensorsFile.open(f)) {
            assertEquals(List.copyOf(in.keySet()), st.names());
            assertEquals(meta, st.metadata());
            assertEquals(8 + headerLen, st.dataStart());
            for (Map.Entry<String, TensorData> e : in.entrySet()) {
                TensorData got = st.tensor(e.getKey());
                assertEquals(e.getValue().type(), got.type(), e.getKey());
                assertArrayEquals(e.getValue().shape(), got.shape(), e.getKey());
                assertEquals(e.getValue().bytes(), got.bytes(), e.getKey());
            }
            assertArrayEquals(in.get("a.f16").toFloats(), st.tensor("a.f16").toFloats());
            assertArrayEquals(new long[] {0, -1, Long.MAX_VALUE, 42}, st.tensor("ids").toLongs());
            assertEquals(0, st.tensor("scalar").rank());
        }
    }

    @Test
    void rewritingReadTensorsIsByteIdentical() throws IOException {
        Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
        SafetensorsWriter.write(a, sample(), Map.of("k", "v"));
        try (SafetensorsFile st = SafetensorsFile.open(a)) {
            Map<String, TensorData> copy = new LinkedHashMap<>();
            for (String n : st.names()) copy.put(n, st.tensor(n));
            SafetensorsWriter.write(b, copy, st.metadata());
        }
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
    }

    @Test
    void smallMappingWindowsGiveTheSameTensors() throws IOException {
        Path f = dir.resolve("w.safetensors");
        Map<String, TensorData> in = sample();
        SafetensorsWriter.write(f, in);
        try (SafetensorsFile st = SafetensorsFile.open(f, 16)) {
            for (String n : in.keySet()) assertEquals(in.get(n).bytes(), st.tensor(n).bytes(), n);
        }
    }

    @Test
    void tensorsStayValidAfterCloseButNewReadsFail() throws IOException {
        Path f = dir.resolve("c.safetensors");
        SafetensorsWriter.write(f, sample());
        TensorData t;
        SafetensorsFile st = SafetensorsFile.open(f);
        t = st.tensor("z.f32");
        st.close();
        assertEquals(1.5f, t.toFloats()[0]);
        assertThrows(IOException.class, () -> st.tensor("ids"));
        assertThrows(IllegalArgumentException.class, () -> st.info("nope"));
    }

    /** A sparse file over 2 GiB: tensors past the 2 GiB mark are readable; one tensor of 2 GiB or more is refused. */
    @Test
    void filesOver2GiB() throws IOException {
        long big = (1L << 31) + 8;
        String header = "{\"big\":{\"dtype\":\"U8\",\"shape\":[" + big + "],\"data_offsets\":[0," + big + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + big + "," + (big + 8) + "]}}";
        Path f = RawFiles.write(dir.resolve("huge.safetensors"), header, 0);
        long dataStart = Files.size(f);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(dataStart + big + 8);
            ByteBuffer tail = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(3.5f).putFloat(-1f).flip();
            raf.getChannel().write(tail, dataStart + big);
        }
        try (SafetensorsFile st = SafetensorsFile.open(f)) {
            assertEquals(big, st.info("big").byteSize());
            assertArrayEquals(new float[] {3.5f, -1f}, st.tensor("tail").toFloats());
            CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> st.tensor("big"));
            assertTrue(e.getMessage().startsWith("huge.safetensors: tensor 'big'"), e.getMessage());
            assertTrue(e.getMessage().contains("2 GiB"), e.getMessage());
        }
    }
}
