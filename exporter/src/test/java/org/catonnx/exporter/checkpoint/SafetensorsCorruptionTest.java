package org.catonnx.exporter.checkpoint;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.catonnx.onnx.TensorData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsCorruptionTest {
    @TempDir
    Path dir;

    private static String entry(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end + "]}";
    }

    private void assertBad(Path f, String expected) {
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(f).close());
        String name = f.getFileName().toString();
        assertTrue(e.getMessage().startsWith(name + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), "expected '" + expected + "' in: " + e.getMessage());
        assertEquals(f, e.file());
    }

    private void assertBadHeader(String header, int dataBytes, String expected) throws IOException {
        assertBad(RawFiles.write(dir.resolve("bad.safetensors"), header, dataBytes), expected);
    }

    private Path validFile() throws IOException {
        Map<String, TensorData> m = new LinkedHashMap<>();
        m.put("a", TensorData.ofFloats(new float[] {1, 2, 3, 4}, 2, 2));
        m.put("b", TensorData.ofLongs(new long[] {5, 6}, 2));
        Path f = dir.resolve("valid.safetensors");
        SafetensorsWriter.write(f, m, Map.of("format", "pt"));
        return f;
    }

    @Test
    void truncatedFiles() throws IOException {
        byte[] ok = Files.readAllBytes(validFile());
        Path f = dir.resolve("truncated.safetensors");
        Files.write(f, Arrays.copyOf(ok, 5));
        assertBad(f, "too short");
        Files.write(f, Arrays.copyOf(ok, 20));
        assertBad(f, "exceeds the file");
        Files.write(f, Arrays.copyOf(ok, ok.length - 1));
        assertBad(f, "outside the data section");
        Files.write(f, new byte[0]);
        assertBad(f, "too short");
    }

    @Test
    void badHeaderLengths() throws IOException {
        byte[] h = "{}".getBytes(StandardCharsets.UTF_8);
        assertBad(RawFiles.write(dir.resolve("long.safetensors"), 1000, h, new byte[0]), "header length 1000 exceeds the file");
        assertBad(RawFiles.write(dir.resolve("neg.safetensors"), -1, h, new byte[0]), "header length 18446744073709551615");
        assertBad(RawFiles.write(dir.resolve("zero.safetensors"), 0, h, new byte[0]), "too small");
        assertBad(RawFiles.write(dir.resolve("one.safetensors"), 1, h, new byte[0]), "too small");
        Path over = dir.resolve("over.safetensors");
        RawFiles.write(over, (100L << 20) + 8, h, new byte[0]);
        try (var raf = new java.io.RandomAccessFile(over.toFile(), "rw")) {
            raf.setLength((100L << 20) + 32);
        }
        assertBad(over, "exceeds the limit");
    }

    @Test
    void notJson() throws IOException {
        assertBadHeader("hello world!", 0, "not valid JSON");
        assertBadHeader("[1, 2]", 0, "not a JSON object");
        assertBadHeader("{\"a\":", 0, "not valid JSON");
        assertBadHeader("{} {}", 0, "content after the JSON object");
        assertBad(RawFiles.write(dir.resolve("utf8.safetensors"), 4, new byte[] {'{', (byte) 0xC3, (byte) 0x28, '}'}, new byte[0]),
                "not valid UTF-8");
    }

    @Test
    void badEntries() throws IOException {
        assertBadHeader("{" + entry("w", "F8_E4M3", "[2]", 0, 2) + "}", 2, "unsupported dtype 'F8_E4M3'");
        assertBadHeader("{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype is not a string");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "lacks data_offsets");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4, "unexpected field 'x'");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, "more than 2 entries");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "must be [begin, end]");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4, "non-integer");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}", 4, "shape is not an array");
        assertBadHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[100000000000000000000000],\"data_offsets\":[0,4]}}", 4, "too large");
        assertBadHeader("{\"w\":[1,2]}", 0, "tensor 'w' is not a JSON object");
        assertBadHeader("{" + entry("", "F32", "[1]", 0, 4) + "}", 4, "empty name");
        assertBadHeader("{" + entry("w", "F32", "[1]", 0, 4) + "," + entry("w", "F32", "[1]", 4, 8) + "}", 8, "Duplicate field 'w'");
        assertBadHeader("{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ value of 'k' is not a string");
        assertBadHeader("{\"__metadata__\":[]}", 0, "__metadata__ is not a JSON object");
        String deep = "[".repeat(5000);
        assertBadHeader("{\"__metadata__\":{\"k\":" + deep + "}}", 0, "is not a string");
    }

    @Test
    void badOffsetsAndShapes() throws IOException {
        assertBadHeader("{" + entry("w", "F32", "[2]", 0, 8) + "}", 4, "data_offsets [0, 8] lie outside the data section (4 bytes)");
        assertBadHeader("{" + entry("w", "F32", "[0]", 8, 4) + "}", 8, "begin after end");
        assertBadHeader("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}", 12,
                "tensors 'a' [0, 8] and 'b' [4, 12] overlap");
        assertBadHeader("{" + entry("wte.weight", "F32", "[4,8]", 0, 100) + "}", 128,
                "tensor 'wte.weight' data_offsets [0, 100] do not match F32[4,8] (128 bytes)");
        long big = 1L << 40;
        assertBadHeader("{" + entry("w", "F32", "[" + big + "," + big + "]", 0, 4) + "}", 4, "overflows");
        assertBadHeader("{" + entry("w", "F32", "[2,-1]", 0, 4) + "}", 4, "negative entry -1");
        assertBadHeader("{" + entry("w", "F32", "[1]", 0, -4) + "}", 4, "negative entry -4");
        assertBadHeader("{" + entry("w", "F32", "[" + "1,".repeat(100) + "1]", 0, 4) + "}", 4, "more than 64 entries");
    }

    @Test
    void zeroSizedTensorsMayShareOffsets() throws IOException {
        Path f = RawFiles.write(dir.resolve("zeros.safetensors"),
                "{" + entry("a", "F32", "[0]", 4, 4) + "," + entry("b", "I64", "[0,3]", 4, 4) + "," + entry("c", "F32", "[1]", 0, 4) + "}", 4);
        try (SafetensorsFile st = SafetensorsFile.open(f)) {
            assertEquals(0, st.tensor("a").byteSize());
            assertArrayEquals(new long[] {0, 3}, st.tensor("b").shape());
        }
    }

    /** Random damage must end in either a usable file or a CheckpointFormatException, nothing else. */
    @Test
    void randomCorruptionNeverEscapesAsAnotherException() throws IOException {
        byte[] ok = Files.readAllBytes(validFile());
        Random rnd = new Random(1234);
        Path f = dir.resolve("fuzz.safetensors");
        int accepted = 0;
        for (int i = 0; i < 3000; i++) {
            byte[] b = ok.clone();
            if (i % 5 == 0) b = Arrays.copyOf(b, rnd.nextInt(b.length));
            int flips = 1 + rnd.nextInt(4);
            for (int k = 0; k < flips && b.length > 0; k++) {
                int pos = rnd.nextInt(Math.min(b.length, 8 + 120));
                b[pos] = rnd.nextBoolean() ? (byte) rnd.nextInt(256) : (byte) "{}[],:\"0123456789-".charAt(rnd.nextInt(18));
            }
            Files.write(f, b);
            try (SafetensorsFile st = SafetensorsFile.open(f)) {
                for (String n : st.names()) st.tensor(n).bytes();
                accepted++;
            } catch (CheckpointFormatException expected) {
                assertTrue(expected.getMessage().startsWith("fuzz.safetensors: "), expected.getMessage());
            }
        }
        assertTrue(accepted < 3000);
    }
}
