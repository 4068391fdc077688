package org.catonnx.onnx;

/** Operator domains and the opset versions the builder targets. */
public final class Domains {
    private Domains() {}

    /** The default ONNX domain. */
    public static final String ONNX = "";
    public static final int ONNX_OPSET = 21;
    /** Our own operators (CatAttention), implemented by the native custom-op library. */
    public static final String CAT = "org.catonnx";
    public static final int CAT_OPSET = 1;
    /** ONNX Runtime's contrib operators (GroupQueryAttention, RotaryEmbedding): fused decode graphs only. */
    public static final String MS = "com.microsoft";
    public static final int MS_OPSET = 1;
}
