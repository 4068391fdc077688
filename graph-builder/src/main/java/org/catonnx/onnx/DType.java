package org.catonnx.onnx;

import java.util.Locale;

/** ONNX tensor element types used by the project, with their TensorProto codes and byte widths. */
public enum DType {
    FLOAT(1, 4, "F32"),
    UINT8(2, 1, "U8"),
    INT8(3, 1, "I8"),
    UINT16(4, 2, "U16"),
    INT16(5, 2, "I16"),
    INT32(6, 4, "I32"),
    INT64(7, 8, "I64"),
    BOOL(9, 1, "BOOL"),
    FLOAT16(10, 2, "F16"),
    DOUBLE(11, 8, "F64"),
    UINT32(12, 4, "U32"),
    UINT64(13, 8, "U64"),
    BFLOAT16(16, 2, "BF16");

    /** TensorProto.DataType code. */
    public final int onnx;
    public final int bytes;
    /** The dtype string safetensors uses. */
    public final String safetensors;

    DType(int onnx, int bytes, String safetensors) {
        this.onnx = onnx;
        this.bytes = bytes;
        this.safetensors = safetensors;
    }

    public boolean isFloating() {
        return this == FLOAT || this == FLOAT16 || this == BFLOAT16 || this == DOUBLE;
    }

    public boolean isInteger() {
        return !isFloating() && this != BOOL;
    }

    public static DType fromOnnx(int code) {
        for (DType t : values()) {
            if (t.onnx == code) return t;
        }
        throw new IllegalArgumentException("unsupported ONNX element type code " + code);
    }

    public static DType fromSafetensors(String name) {
        for (DType t : values()) {
            if (t.safetensors.equals(name)) return t;
        }
        throw new IllegalArgumentException("unsupported safetensors dtype '" + name + "'");
    }

    /** Parses user-facing precision names: float32/fp32/f32, float16/fp16, bfloat16/bf16. */
    public static DType parsePrecision(String s) {
        switch (s.toLowerCase(Locale.ROOT)) {
            case "float32": case "fp32": case "f32": case "float": return FLOAT;
            case "float16": case "fp16": case "f16": case "half": return FLOAT16;
            case "bfloat16": case "bf16": return BFLOAT16;
            default: throw new IllegalArgumentException("unknown precision '" + s + "' (allowed: float32, float16, bfloat16)");
        }
    }
}
