package org.catonnx.nn;

import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Value;

/** LLaMA MLP: proj(silu(fc_1(x)) * fc_2(x)). */
public final class SwiGlu {
    private final BuildContext c;
    private final Linear fc1;
    private final Linear fc2;
    private final Linear proj;
    private final String name;

    public SwiGlu(BuildContext c, String name, int dim, int hidden) {
        this.c = c;
        this.name = name;
        fc1 = new Linear(c, name + ".fc_1", dim, hidden, false);
        fc2 = new Linear(c, name + ".fc_2", dim, hidden, false);
        proj = new Linear(c, name + ".proj", hidden, dim, false);
    }

    public Value forward(Value x) {
        Graph g = c.g;
        try (Graph.Scope s = g.scope("mlp")) {
            if (c.options.attentionForm == AttentionForm.CUSTOM) {
                // with our operator library: fc_1 and fc_2 as one projection (ONNX Runtime folds the
                // weight Concat at load) and one SwiGlu kernel instead of MatMul, MatMul, Sigmoid, Mul, Mul
                Value w = g.concat(0, fc1.weight(), fc2.weight());
                return proj.forward(g.swiGlu(g.matMul(x, g.transpose(w, 1, 0))));
            }
            Value a = fc1.forward(x);
            Value silu = g.mul(a, g.sigmoid(a));
            return proj.forward(g.mul(silu, fc2.forward(x)));
        }
    }
}
