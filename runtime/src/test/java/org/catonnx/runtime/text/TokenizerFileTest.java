package org.catonnx.runtime.text;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A missing or malformed tokenizer.json gives an IOException naming the file, never a crash. */
class TokenizerFileTest {
    @Test
    void badTokenizerFilesAreRefusedByName(@TempDir Path dir) throws Exception {
        String m = assertThrows(IOException.class, () -> TextTokenizer.load(dir.resolve("missing.json"))).getMessage();
        assertTrue(m.contains("tokenizer file not found") && m.contains("missing.json"), m);
        String[] bad = {"", "not json", "[]", "{}", "{\"model\":{\"type\":\"WordLevel\",\"vocab\":7}}", "{\"model\":" + "[".repeat(5000)};
        for (int i = 0; i < bad.length; i++) {
            Path f = Files.writeString(dir.resolve("tok" + i + ".json"), bad[i]);
            String e = assertThrows(IOException.class, () -> TextTokenizer.load(f)).getMessage();
            assertTrue(e.startsWith("tok" + i + ".json: not a usable Hugging Face tokenizer.json"), e);
        }
        Path binary = Files.write(dir.resolve("bin.json"), new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1, 2, 3});
        assertTrue(assertThrows(IOException.class, () -> TextTokenizer.load(binary)).getMessage().startsWith("bin.json: "));
    }
}
