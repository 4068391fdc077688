package org.catonnx.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.catonnx.runtime.CustomOps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.catonnx.cli.BundleCommandsTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** cat-export bench-attention on the CPU with tiny sizes and fixed repetitions (nothing timed is asserted). */
class BenchAttentionCommandTest {
    @TempDir
    static Path dir;
    private static final String[] TINY = {"bench-attention", "--device", "cpu", "--lengths", "16", "--chunks", "2,4", "--batches", "1",
            "--head-dims", "8", "--model-dim", "16", "--reps", "2", "--trials", "1"};

    private static String[] tiny(String... more) {
        List<String> a = new ArrayList<>(List.of(TINY));
        a.addAll(List.of(more));
        return a.toArray(new String[0]);
    }

    @Test
    void everyFormGetsARow() throws Exception {
        BundleCommandsTest.Run r = run(tiny("--forms", "custom,efficient,masked,dense,empty", "--json"));
        assertEquals(0, r.code(), r.err());
        JsonNode n = new ObjectMapper().readTree(r.out());
        assertEquals("cpu", n.get("device").asText());
        assertEquals("float", n.get("precision").asText());
        boolean custom = CustomOps.cpuAvailable();
        int cat = custom ? 3 : 2;
        assertEquals(2 + 2 * cat, n.get("rows").size(), r.out());   // dense, empty, then per chunk the CAT forms
        List<String> forms = new ArrayList<>();
        for (JsonNode row : n.get("rows")) {
            forms.add(row.get("form").asText());
            assertTrue(row.get("error") == null, row.toString());
            assertEquals(3, row.get("r2").asLong(), "r1 + --reps");
            assertTrue(Double.isFinite(row.get("ms").asDouble()) && Double.isFinite(row.get("checksum").asDouble()), row.toString());
            if (!row.get("form").asText().equals("empty")) {
                assertTrue(row.get("flops").asDouble() > 0 && row.get("bytes").asLong() > 0 && row.has("times_roofline"), row.toString());
            }
            if (row.get("form").asText().equals("efficient")) assertTrue(row.has("speedup_vs_masked") && row.has("speedup_vs_dense"), row.toString());
        }
        assertEquals(custom, forms.contains("custom"), forms.toString());
        assertTrue(forms.containsAll(List.of("efficient", "masked", "dense", "empty")), forms.toString());
        if (!custom) assertTrue(n.get("notes").toString().contains("custom skipped"), n.toString());
        assertTrue(r.err().contains("[bench-attention]") && r.err().contains("ms per call"), "progress on stderr: " + r.err());
    }

    @Test
    void tableAndSummary() throws Exception {
        Path file = dir.resolve("rows.json");
        BundleCommandsTest.Run r = run(tiny("--forms", "custom,efficient,dense", "--json-file", file.toString()));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("| form | L | chunk | batch | hd | ms | GB/s | TFLOP/s | roofline ms | x roof |"), r.out());
        assertTrue(r.out().contains("| dense | 16 | - | 1 | 8 |"), r.out());
        assertTrue(r.out().contains("| efficient | 16 | 4 | 1 | 8 |"), r.out());
        if (CustomOps.cpuAvailable()) assertTrue(r.out().contains("L 16 batch 1 hd 8: vs efficient "), r.out());
        assertFalse(r.out().contains("[bench-attention]"), "progress stays off stdout");
        assertEquals(1 + 2 * (CustomOps.cpuAvailable() ? 2 : 1), new ObjectMapper().readTree(file.toFile()).get("rows").size());
    }

    @Test
    void badSettingsAreRefusedBeforeAnythingRuns() {
        BundleCommandsTest.Run chunk = run("bench-attention", "--device", "cpu", "--lengths", "18", "--chunks", "4", "--forms", "efficient");
        assertEquals(CatExport.BAD_INPUT, chunk.code());
        assertTrue(chunk.err().contains("not a multiple of chunk 4"), chunk.err());
        BundleCommandsTest.Run bf16 = run(tiny("--precision", "bfloat16"));
        assertEquals(CatExport.BAD_INPUT, bf16.code());
        assertTrue(bf16.err().contains("bfloat16"), bf16.err());
        assertEquals(CatExport.BAD_INPUT, run(tiny("--forms", "flash")).code());
        assertFalse(run(tiny("--forms", "flash")).err().contains("[bench-attention]"), "nothing ran");
    }
}
