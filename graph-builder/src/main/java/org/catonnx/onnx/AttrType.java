package org.catonnx.onnx;

/** ONNX attribute kinds the builder emits (AttributeProto.AttributeType codes). */
public enum AttrType {
    FLOAT(1), INT(2), STRING(3), TENSOR(4), GRAPH(5), FLOATS(6), INTS(7);

    public final int code;

    AttrType(int code) { this.code = code; }

    /** The kind a Java attribute value maps to, or null if it maps to none. */
    static AttrType of(Object v) {
        if (v instanceof Integer || v instanceof Long) return INT;
        if (v instanceof Float || v instanceof Double) return FLOAT;
        if (v instanceof String) return STRING;
        if (v instanceof TensorData) return TENSOR;
        if (v instanceof Graph) return GRAPH;
        if (v instanceof float[]) return FLOATS;
        if (v instanceof long[] || v instanceof int[]) return INTS;
        return null;
    }
}
