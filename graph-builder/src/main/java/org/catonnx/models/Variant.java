package org.catonnx.models;

import java.util.Locale;

/** The model families of the paper's code, by the names its golden config.json uses. */
public enum Variant {
    /** transformer++ baseline (transformer.py) */
    TRANSFORMER("transformer"),
    /** CAT with a fixed chunk size (cat_transformer.py) */
    CAT("cat"),
    /** one CAT model serving chunk sizes 2^p (cat_transformer_adaptive.py) */
    CAT_ADAPTIVE("cat_adaptive"),
    /** CAT attention as a drop-in layer, optionally mixed with dense layers (cat_layer.py) */
    CAT_LAYER("cat_layer");

    public final String id;

    Variant(String id) { this.id = id; }

    public static Variant parse(String s) {
        String k = s.toLowerCase(Locale.ROOT).replace('-', '_');
        for (Variant v : values()) if (v.id.equals(k)) return v;
        if (k.equals("dense")) return TRANSFORMER;
        if (k.equals("adaptive")) return CAT_ADAPTIVE;
        if (k.equals("layer") || k.equals("hybrid")) return CAT_LAYER;
        throw new ConfigException("unknown variant '" + s + "' (allowed: transformer, cat, cat_adaptive, cat_layer)");
    }
}
