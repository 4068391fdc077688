package org.catonnx.models;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hostile config.json files give a ConfigException naming the file and the problem (see also ConfigFuzzTest). */
class ConfigLimitsTest {
    @TempDir
    Path dir;

    private String refused(String json) throws Exception {
        return refused(json.getBytes(StandardCharsets.UTF_8));
    }

    private String refused(byte[] bytes) throws Exception {
        Path f = Files.write(dir.resolve("config.json"), bytes);
        String m = assertThrows(ConfigException.class, () -> ModelSpec.load(f)).getMessage();
        assertTrue(m.startsWith("config.json: "), m);
        return m;
    }

    private static String dense(String decoder) {
        return "{\"variant\":\"transformer\",\"decoder\":{" + decoder + "}}";
    }

    @Test
    void notJsonInAnyEncoding() throws Exception {
        assertTrue(refused("{\"variant\":").contains("not valid JSON"));
        // looks like UTF-32 to Jackson's encoding detection (found by ConfigFuzzTest)
        assertTrue(refused(new byte[] {'{', 0, 0, 0, 'w', 'i', 'a', 'n', 't'}).contains("not valid JSON"));
        assertTrue(refused("[]").contains("config must be a JSON object"));
        assertTrue(refused("").contains("config must be a JSON object"));
    }

    @Test
    void sizesBeyondTheLimits() throws Exception {
        assertTrue(refused("{\"variant\":\"cat_layer\",\"decoder\":{\"block_size\":128,\"vocab_size\":256,\"n_layer\":2147483647,"
                + "\"n_head\":4,\"dim\":64,\"chunk_size\":8,\"dim_fx\":128}}").contains("n_layer 2147483647 exceeds the limit of 4096"));
        assertTrue(refused(dense("\"block_size\":2147483647,\"vocab_size\":256,\"n_layer\":1,\"n_head\":1,\"dim\":64"))
                .contains("block_size 2147483647 exceeds the limit of " + ModelConfig.MAX_BLOCK_SIZE));
        assertTrue(refused(dense("\"block_size\":128,\"vocab_size\":2147483647,\"n_layer\":1,\"n_head\":1,\"dim\":64"))
                .contains("vocab_size 2147483647 exceeds the limit"));
        assertTrue(refused(dense("\"block_size\":128,\"vocab_size\":256,\"n_layer\":1,\"n_head\":1,\"dim\":1073741824"))
                .contains("dim 1073741824 exceeds the limit"));
        assertTrue(refused(dense("\"block_size\":128,\"vocab_size\":256,\"n_layer\":1,\"n_head\":1,\"dim\":64,\"intermediate_size\":2000000000"))
                .contains("intermediate_size 2000000000 exceeds the limit"));
    }

    @Test
    void inconsistentOrNonsensicalValues() throws Exception {
        assertTrue(refused(dense("\"block_size\":128,\"vocab_size\":256,\"n_layer\":1,\"n_head\":3,\"dim\":64")).contains("not divisible by n_head 3"));
        assertTrue(refused(dense("\"block_size\":128,\"vocab_size\":256,\"n_layer\":1,\"n_head\":1,\"dim\":64,\"rope_base\":-1"))
                .contains("rope_base must be a positive finite number"));
        assertTrue(refused(dense("\"block_size\":128,\"vocab_size\":256,\"n_layer\":1,\"n_head\":1,\"dim\":64,\"norm_eps\":1e400"))
                .contains("norm_eps must be a finite number"));
        assertTrue(refused(dense("\"block_size\":128,\"vocab_size\":256,\"n_layer\":\"2\",\"n_head\":1,\"dim\":64"))
                .contains("'n_layer' is missing or not an integer"));
        assertTrue(refused("{\"variant\":\"gpt\",\"decoder\":{}}").contains("unknown variant 'gpt'"));
    }
}
