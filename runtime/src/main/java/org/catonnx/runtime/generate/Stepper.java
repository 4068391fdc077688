package org.catonnx.runtime.generate;

/**
 * Cached decoding for one batch of equal-length prompts: start() consumes the prompts,
 * next() one token per row; both return the logits that predict the following token,
 * [B * V] flattened (V = padded vocabulary).
 */
interface Stepper extends AutoCloseable {
    float[] start(long[][] prompts);

    float[] next(long[] tokens);

    @Override
    void close();
}
