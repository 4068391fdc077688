package org.catonnx.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.catonnx.cli.BundleCommandsTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** cat-export generate on an exported bundle: ids, text through a tokenizer, the in-graph loop, bad input. */
class GenerateCommandTest {
    @TempDir
    static Path dir;
    static Path bundle;

    /** A tiny word-level Hugging Face tokenizer: 6 words, whitespace pre-tokenizer. */
    static final String TOKENIZER = "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[],\"normalizer\":null,"
            + "\"pre_tokenizer\":{\"type\":\"Whitespace\"},\"post_processor\":null,\"decoder\":null,"
            + "\"model\":{\"type\":\"WordLevel\",\"vocab\":{\"[UNK]\":0,\"the\":1,\"cat\":2,\"sat\":3,\"on\":4,\"mat\":5},\"unk_token\":\"[UNK]\"}}";

    @BeforeAll
    static void export() throws Exception {
        Path tok = Files.writeString(dir.resolve("tokenizer.json"), TOKENIZER);
        bundle = dir.resolve("tiny-cat");
        BundleCommandsTest.Run e = run("export", "--preset", "tiny-cat", "--tokenizer", tok.toString(), "-o", bundle.toString());
        assertEquals(0, e.code(), e.out() + e.err());
    }

    @Test
    void idsInIdsOutAndLoopAgrees() throws Exception {
        BundleCommandsTest.Run a = run("generate", bundle.toString(), "--ids", "1,2,3,4,5", "--ids", "7,8", "--max-new-tokens", "12", "--json");
        assertEquals(0, a.code(), a.err());
        JsonNode r = new ObjectMapper().readTree(a.out()).get("results");
        assertEquals(2, r.size());
        assertEquals(12, r.get(0).get("generated_ids").size());
        BundleCommandsTest.Run b = run("generate", bundle.toString(), "--ids", "1,2,3,4,5", "--ids", "7,8", "--max-new-tokens", "12", "--loop", "--json");
        assertEquals(0, b.code(), b.err());
        assertEquals(r, new ObjectMapper().readTree(b.out()).get("results"), "in-graph loop = step loop");
    }

    @Test
    void bundleVerifiesItsOwnConsistency() throws Exception {
        BundleCommandsTest.Run v = run("verify", "--bundle", bundle.toString(), "--json");
        assertEquals(0, v.code(), v.out() + v.err());
        JsonNode n = new ObjectMapper().readTree(v.out());
        assertTrue(n.get("passed").asBoolean());
        assertEquals(2, n.get("checks").size());   // decode graphs vs forward, in-graph loop vs step decoder
        assertEquals(2, run("verify").code(), "neither --reference nor --bundle is a usage error");
    }

    @Test
    void textPromptsUseTheBundlesTokenizer() throws Exception {
        BundleCommandsTest.Run a = run("generate", bundle.toString(), "--prompt", "the cat sat on the mat", "--max-new-tokens", "5", "--json");
        assertEquals(0, a.code(), a.err());
        JsonNode res = new ObjectMapper().readTree(a.out()).get("results").get(0);
        assertEquals("[1,2,3,4,1,5]", res.get("prompt_ids").toString());
        assertTrue(res.has("text"));
    }

    @Test
    void samplingIsReproducibleWithASeed() {
        String[] args = {"generate", bundle.toString(), "--ids", "1,2,3", "--max-new-tokens", "10", "--temperature", "0.8", "--top-k", "20", "--seed", "7", "--json"};
        BundleCommandsTest.Run a = run(args), b = run(args);
        assertEquals(0, a.code(), a.err());
        assertEquals(a.out().replaceAll("\"seconds\" : [0-9.E-]+", ""), b.out().replaceAll("\"seconds\" : [0-9.E-]+", ""));
    }

    @Test
    void badInputIsRefusedWithTheReason() {
        BundleCommandsTest.Run oov = run("generate", bundle.toString(), "--ids", "1,999");
        assertEquals(CatExport.BAD_INPUT, oov.code());
        assertTrue(oov.err().contains("allowed ids are 0..255"), oov.err());
        BundleCommandsTest.Run neg = run("generate", bundle.toString(), "--ids", "-1");
        assertEquals(CatExport.BAD_INPUT, neg.code());
        BundleCommandsTest.Run chunk = run("generate", bundle.toString(), "--ids", "1", "--chunk", "4");
        assertEquals(CatExport.BAD_INPUT, chunk.code());
        assertTrue(chunk.err().contains("offers [8]"), chunk.err());
        StringBuilder longPrompt = new StringBuilder("1");
        for (int i = 0; i < 200; i++) longPrompt.append(",1");
        BundleCommandsTest.Run tooLong = run("generate", bundle.toString(), "--ids", longPrompt.toString());
        assertEquals(CatExport.BAD_INPUT, tooLong.code());
        assertTrue(tooLong.err().contains("context is 128 tokens"), tooLong.err());
    }

    @Test
    void batchBeyondMaxBatchIsRefused() {
        BundleCommandsTest.Run many = run("generate", bundle.toString(), "--ids", "1", "--ids", "2", "--ids", "3", "--max-batch", "2");
        assertEquals(CatExport.BAD_INPUT, many.code());
        assertTrue(many.err().contains("3 prompts exceed the batch limit of 2"), many.err());
        BundleCommandsTest.Run zero = run("generate", bundle.toString(), "--ids", "1", "--max-batch", "0");
        assertEquals(CatExport.BAD_INPUT, zero.code());
        assertTrue(zero.err().contains("max batch must be at least 1"), zero.err());
    }
}
