package org.catonnx.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** cat-export export / inspect end to end: exit codes, text and JSON output. */
class BundleCommandsTest {
    @TempDir
    Path dir;

    record Run(int code, String out, String err) {}

    static synchronized Run run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        StringWriter picoErr = new StringWriter();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            var cl = CatExport.commandLine();
            cl.setErr(new PrintWriter(picoErr, true));
            int code = cl.execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8) + picoErr);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void exportPresetThenInspect() throws Exception {
        Path b = dir.resolve("tiny-cat");
        Path tok = Files.writeString(dir.resolve("tokenizer.json"), "{\"version\": \"1.0\"}");
        Run e = run("export", "--preset", "tiny-cat", "--seed", "4", "--tokenizer", tok.toString(), "--archive", "-o", b.toString());
        assertEquals(0, e.code(), e.out() + e.err());
        for (String purpose : new String[] {"forward", "loss", "start", "compress", "summaries", "tokens", "generate"}) {
            assertTrue(e.out().contains("] " + purpose + " chunk 8 -> graphs/" + purpose + "_c8.onnx"), e.out());
        }
        assertTrue(e.out().contains("exported 7 graphs"), e.out());
        assertTrue(Files.isRegularFile(dir.resolve("tiny-cat.cat")));

        Run i = run("inspect", b.toString());
        assertEquals(0, i.code(), i.out() + i.err());
        assertTrue(i.out().contains("parameters"), i.out());
        assertTrue(i.out().contains("graphs/forward_c8.onnx"), i.out());
        assertTrue(i.out().contains("384.0 bytes/token"), i.out());

        for (String target : new String[] {b.toString(), dir.resolve("tiny-cat.cat").toString()}) {
            Run j = run("inspect", "--json", target);
            assertEquals(0, j.code(), j.err());
            JsonNode n = new ObjectMapper().readTree(j.out());
            assertEquals("cat-onnx-bundle/1", n.get("format").asText());
            assertEquals("cat", n.get("variant").asText());
            assertEquals(7, n.get("graphs").size());
            assertTrue(n.get("tokenizer").asBoolean());
            assertEquals("preset", n.get("provenance").get("source").asText());
            assertEquals(4, n.get("provenance").get("seed").asInt());
            assertTrue(n.get("onnxruntime").get("verified").asBoolean());
            // (16 chunks + 8 tokens) * 2 layers * 2 (k, v) * 4 kv heads * 32 dims * 4 bytes / 128 tokens
            assertEquals(384.0, n.get("cache").get(0).get("bytes_per_token").asDouble());
            assertTrue(n.get("parameters").asLong() > 0);
        }
    }

    @Test
    void exportJsonAndDenseCache() throws Exception {
        Path b = dir.resolve("dense");
        Run e = run("export", "--preset", "tiny-dense", "--precision", "float16", "--json", "-o", b.toString());
        assertEquals(0, e.code(), e.err());
        JsonNode n = new ObjectMapper().readTree(e.out());
        assertEquals(4, n.get("graphs").asInt());   // forward, loss, step, generate
        assertEquals("float16", n.get("manifest").get("precision").asText());
        assertTrue(e.err().contains("[1/4]"), "progress goes to stderr with --json: " + e.err());
        JsonNode i = new ObjectMapper().readTree(run("inspect", "--json", b.toString()).out());
        // 2 layers * 2 * 4 kv heads * 16 dims * 2 bytes
        assertEquals(512.0, i.get("cache").get(0).get("bytes_per_token").asDouble());
    }

    @Test
    void adaptiveSubset() throws Exception {
        Path b = dir.resolve("ad");
        Run e = run("export", "--preset", "tiny-adaptive", "--chunk-sizes", "2,8", "--attention", "masked", "-o", b.toString());
        assertEquals(0, e.code(), e.out() + e.err());
        JsonNode i = new ObjectMapper().readTree(run("inspect", "--json", b.toString()).out());
        assertEquals("[2,8]", i.get("chunk_sizes").toString());
        assertEquals("masked", i.get("attention").asText());
        assertEquals(14, i.get("graphs").size());   // 7 per chunk size
        Run bad = run("export", "--preset", "tiny-adaptive", "--chunk-sizes", "3", "-o", dir.resolve("x").toString());
        assertEquals(CatExport.BAD_INPUT, bad.code());
        assertTrue(bad.err().contains("chunk size 3"), bad.err());
        assertFalse(Files.exists(dir.resolve("x")));
    }

    @Test
    void exportFromCheckpoint() throws Exception {
        Path ref = Path.of("..", "testdata", "reference", "cat_c4");
        Assumptions.assumeTrue(Files.isRegularFile(ref.resolve("weights.safetensors")), "no testdata");
        Path b = dir.resolve("c4");
        Run e = run("export", "--config", ref.resolve("config.json").toString(), "--checkpoint", ref.resolve("weights.safetensors").toString(),
                "-o", b.toString());
        assertEquals(0, e.code(), e.out() + e.err());
        JsonNode i = new ObjectMapper().readTree(run("inspect", "--json", b.toString()).out());
        assertEquals("checkpoint", i.get("provenance").get("source").asText());
        assertEquals(org.catonnx.exporter.bundle.BundleFormat.sha256(ref.resolve("weights.safetensors")),
                i.get("provenance").get("checkpoint_sha256").asText());
    }

    @Test
    void exitCodes() throws Exception {
        assertEquals(CatExport.BAD_INPUT, run("export", "--preset", "no-such", "-o", dir.resolve("a").toString()).code());
        assertEquals(2, run("export", "-o", dir.resolve("a").toString()).code(), "no model source is a usage error");
        assertEquals(2, run("export", "--preset", "tiny-cat", "--config", "c.json", "--checkpoint", "w.st", "-o", "x").code());
        assertEquals(CatExport.BAD_INPUT, run("inspect", dir.resolve("nothing").toString()).code());

        Path b = dir.resolve("b");
        assertEquals(0, run("export", "--preset", "tiny-dense", "-o", b.toString()).code());
        Run again = run("export", "--preset", "tiny-dense", "-o", b.toString());
        assertEquals(CatExport.BAD_INPUT, again.code());
        assertTrue(again.err().contains("already holds a bundle"), again.err());
        assertEquals(0, run("export", "--preset", "tiny-dense", "--seed", "9", "--force", "-o", b.toString()).code());

        Path w = b.resolve("graphs/weights.bin");
        byte[] d = Files.readAllBytes(w);
        d[100] ^= 1;
        Files.write(w, d);
        Run i = run("inspect", b.toString());
        assertEquals(CatExport.BAD_INPUT, i.code());
        assertTrue(i.err().contains("graphs/weights.bin") && i.err().contains("SHA-256"), i.err());
    }
}
