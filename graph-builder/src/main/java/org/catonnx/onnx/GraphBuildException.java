package org.catonnx.onnx;

/** A graph could not be built as asked: wrong shapes, types, attributes or names. The message names the node. */
public class GraphBuildException extends IllegalArgumentException {
    public GraphBuildException(String message) {
        super(message);
    }
}
