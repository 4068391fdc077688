package org.catonnx.models;

import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Value;

/** Rows of RoPE tables for the positions a graph call covers. */
final class RopeSlices {
    private RopeSlices() {}

    /** {cos[:n], sin[:n]} with n a 1-element int64 tensor. */
    static Value[] firstN(Graph g, Value[] tables, Value n) {
        Value zero = g.constInt64(0), axis = g.constInt64(0);
        return new Value[] {g.slice(tables[0], zero, n, axis, null), g.slice(tables[1], zero, n, axis, null)};
    }
}
