package org.catonnx.exporter.checkpoint;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.TensorData;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GoldenFilesTest {
    private static Path golden;

    @BeforeAll
    static void locate() {
        String shared = System.getProperty("catonnx.shared");
        Path dir = shared == null ? null : Paths.get(shared, "golden");
        if (dir == null || !Files.isDirectory(dir)) dir = Paths.get("/work/shared/golden");
        String reason = "golden files not found (catonnx.shared=" + shared + ", /work/shared/golden absent); skipping";
        if (!Files.isDirectory(dir)) System.out.println(reason);
        Assumptions.assumeTrue(Files.isDirectory(dir), reason);
        golden = dir;
    }

    @Test
    void readsEveryGoldenFile() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(golden)) {
            files = s.filter(p -> p.toString().endsWith(".safetensors")).sorted().collect(Collectors.toList());
        }
        assertFalse(files.isEmpty(), "no .safetensors under " + golden);
        for (Path f : files) {
            try (SafetensorsFile st = SafetensorsFile.open(f)) {
                assertFalse(st.names().isEmpty(), f.toString());
                assertEquals("pt", st.metadata().get("format"), f.toString());
                for (String name : st.names()) {
                    TensorData t = st.tensor(name);
                    assertEquals(st.info(name).byteSize(), t.byteSize(), f + " " + name);
                    if (t.type() == DType.FLOAT) {
                        for (float v : t.toFloats()) assertTrue(Float.isFinite(v), f + " " + name + " has " + v);
                    }
                }
            }
        }
    }

    @Test
    void transformerWeights() throws IOException {
        Path f = golden.resolve("transformer/weights.safetensors");
        try (SafetensorsFile st = SafetensorsFile.open(f)) {
            assertEquals(17, st.names().size());
            SafetensorsFile.TensorInfo wte = st.info("wte.weight");
            assertEquals(DType.FLOAT, wte.dtype());
            assertArrayEquals(new long[] {256, 64}, wte.shape());
            assertTrue(st.contains("layers.1.attention.wqkv.weight"));
            assertFalse(st.contains("cos"));
            // The reader's view must agree with a tiny independent parse of the raw bytes.
            byte[] raw = Files.readAllBytes(f);
            long headerLen = RawFiles.headerLength(raw);
            String header = new String(raw, 8, (int) headerLen, StandardCharsets.UTF_8);
            Matcher m = Pattern.compile("\"wte\\.weight\":\\{\"dtype\":\"F32\",\"shape\":\\[256,64\\],\"data_offsets\":\\[(\\d+),(\\d+)\\]")
                    .matcher(header);
            assertTrue(m.find(), header);
            long begin = Long.parseLong(m.group(1));
            assertEquals(begin, wte.begin());
            assertEquals(Long.parseLong(m.group(2)), wte.end());
            float[] values = st.tensor("wte.weight").toFloats();
            ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
            for (int i : new int[] {0, 1, 63, 64, 1000, 256 * 64 - 1}) {
                assertEquals(b.getFloat((int) (8 + headerLen + begin) + 4 * i), values[i], 0f, "wte.weight[" + i + "]");
            }
            assertNotEquals(0f, values[0]);
        }
    }

    @Test
    void transformerIo() throws IOException {
        try (SafetensorsFile st = SafetensorsFile.open(golden.resolve("transformer/io.safetensors"))) {
            assertEquals(DType.INT64, st.info("input_ids").dtype());
            assertArrayEquals(new long[] {2, 64}, st.info("input_ids").shape());
            long[] ids = st.tensor("input_ids").toLongs();
            long[] labels = st.tensor("labels").toLongs();
            for (long id : ids) assertTrue(id >= 0 && id < 256, "token " + id);
            for (int b = 0; b < 2; b++) {
                for (int t = 0; t < 63; t++) assertEquals(ids[b * 64 + t + 1], labels[b * 64 + t]);
                assertEquals(-100, labels[b * 64 + 63]);
            }
            TensorData logits = st.tensor("logits");
            assertEquals(3, logits.rank());
            assertEquals(2, logits.dim(0));
            assertEquals(64, logits.dim(1));
            for (float v : logits.toFloats()) assertTrue(Float.isFinite(v));
            float loss = st.tensor("loss").toFloats()[0];
            assertTrue(loss > 0 && loss < 20, "loss " + loss);
        }
    }
}
