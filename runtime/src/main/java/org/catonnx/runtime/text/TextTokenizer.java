package org.catonnx.runtime.text;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** A Hugging Face tokenizer.json, for generating from text: ids without special tokens, and back. */
public final class TextTokenizer implements AutoCloseable {
    private final Path file;
    private final HuggingFaceTokenizer tokenizer;

    private TextTokenizer(Path file, HuggingFaceTokenizer tokenizer) {
        this.file = file;
        this.tokenizer = tokenizer;
    }

    public static TextTokenizer load(Path tokenizerJson) throws IOException {
        if (!Files.isRegularFile(tokenizerJson)) throw new IOException("tokenizer file not found: " + tokenizerJson);
        try {
            return new TextTokenizer(tokenizerJson, HuggingFaceTokenizer.newInstance(tokenizerJson,
                    Map.of("addSpecialTokens", "false", "padding", "false", "truncation", "false")));
        } catch (RuntimeException e) {
            throw new IOException(tokenizerJson.getFileName() + ": not a usable Hugging Face tokenizer.json: " + e.getMessage(), e);
        }
    }

    public long[] encode(String text) {
        Encoding e = tokenizer.encode(text, false, false);
        return e.getIds();
    }

    public String decode(long[] ids) {
        return tokenizer.decode(ids, true);
    }

    public Path file() { return file; }

    @Override
    public void close() {
        tokenizer.close();
    }
}
