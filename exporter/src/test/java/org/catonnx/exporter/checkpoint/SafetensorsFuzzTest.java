package org.catonnx.exporter.checkpoint;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.catonnx.onnx.TensorData;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Coverage-guided fuzzing of the safetensors reader: bytes -> file -> {@link SafetensorsFile#open}
 * -> every tensor read. The only acceptable failure is a {@link CheckpointFormatException} whose
 * message starts with the file name; anything else (an unchecked exception, an OutOfMemoryError,
 * a tensor that reads past the file) is a bug.
 *
 * <p>The first input byte picks the framing: even = the bytes are the whole file; odd = the
 * rest is the JSON header, framed with a correct 8-byte length and followed by a 4 KiB data
 * section, so the fuzzer spends its time on the header's fields rather than on the length prefix.
 *
 * <p>Plain {@code ./mvnw test} replays {@code src/test/resources/org/catonnx/exporter/checkpoint/
 * SafetensorsFuzzTestInputs/openAndReadEverything/}; to fuzz: {@code JAZZER_FUZZ=1 ./mvnw -pl
 * exporter -am test -Dtest=SafetensorsFuzzTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Djazzer.max_duration=10m} (docs/RELIABILITY.md).
 */
class SafetensorsFuzzTest {
    static final int DATA_BYTES = 4096;
    private static Path dir;
    private static Path file;

    @BeforeAll
    static void setUp() throws IOException {
        dir = Files.createTempDirectory("st-fuzz-");
        file = dir.resolve("fuzz.safetensors");
    }

    @AfterAll
    static void tearDown() throws IOException {
        Files.deleteIfExists(file);
        Files.deleteIfExists(dir);
    }

    /** The file for an input: raw bytes, or (odd first byte) a framed header plus a data section. */
    static byte[] fileBytes(byte[] data) {
        if (data.length == 0 || (data[0] & 1) == 0) return data;
        int headerLen = data.length - 1;
        ByteBuffer b = ByteBuffer.allocate(8 + headerLen + DATA_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLen).put(data, 1, headerLen);
        for (int i = 0; i < DATA_BYTES; i++) b.put((byte) i);
        return b.array();
    }

    @FuzzTest(maxDuration = "2m")
    void openAndReadEverything(byte[] data) throws IOException {
        byte[] bytes = fileBytes(data);
        Files.write(file, bytes);
        SafetensorsFile st;
        try {
            st = SafetensorsFile.open(file);
        } catch (CheckpointFormatException e) {
            assertTrue(e.getMessage().startsWith(file.getFileName() + ": "), e.getMessage());
            return;
        }
        try (st) {
            long dataLen = bytes.length - st.dataStart();
            for (String name : st.names()) {
                SafetensorsFile.TensorInfo info = st.info(name);
                assertTrue(info.begin() >= 0 && info.end() <= dataLen && info.begin() <= info.end(), info.toString());
                TensorData t = st.tensor(name);
                assertEquals(info.byteSize(), t.byteSize(), name);
                assertEquals(TensorData.numElements(info.shape()), TensorData.numElements(t.shape()), name);
                // the view holds exactly the file's bytes at the declared offsets
                byte[] got = new byte[(int) t.byteSize()];
                t.bytes().get(got);
                int from = (int) (st.dataStart() + info.begin());
                assertTrue(Arrays.equals(got, Arrays.copyOfRange(bytes, from, from + got.length)), name);
            }
            st.metadata().forEach((k, v) -> assertTrue(k != null && v != null));
        }
    }
}
