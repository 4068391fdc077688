package org.catonnx.runtime.generate;

/** Streaming callback: called for every generated token, in order, per prompt. */
@FunctionalInterface
public interface TokenListener {
    /** @param prompt index of the prompt in the request; @param step 0-based index of the new token */
    void onToken(int prompt, int step, long token);

    TokenListener NONE = (p, s, t) -> { };
}
