package org.catonnx.autodiff;

import org.catonnx.onnx.Node;
import org.catonnx.onnx.Value;

/** The vector-Jacobian product of one operator. */
@FunctionalInterface
public interface GradientRule {
    /**
     * @param n     the forward node
     * @param gy    gradients of the node's outputs (null where an output gets none; at least one is set)
     * @param wants which inputs need a gradient (floating inputs on a path from a wrt value)
     * @return one gradient per input (null for none), at least where wants is true
     */
    Value[] apply(GradContext c, Node n, Value[] gy, boolean[] wants);
}
