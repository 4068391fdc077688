package org.catonnx.nn;

import java.util.Locale;

/** How CAT attention is expressed in the graph; all three compute the same function. */
public enum AttentionForm {
    /** per block: scores against earlier compressed vectors + own causal prefix, one softmax (N*(K+l) memory) */
    EFFICIENT,
    /** the whole interleaved sequence with an N x N additive mask: a cross-check and for tiny models */
    MASKED,
    /** our CatAttention custom operator (needs the native library) */
    CUSTOM;

    public static AttentionForm parse(String s) {
        switch (s.toLowerCase(Locale.ROOT)) {
            case "efficient": case "portable": case "block": return EFFICIENT;
            case "masked": case "dense": case "mask": return MASKED;
            case "custom": return CUSTOM;
            default: throw new IllegalArgumentException("unknown attention form '" + s + "' (allowed: efficient, masked, custom)");
        }
    }
}
