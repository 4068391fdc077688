package org.catonnx.autodiff;

import org.catonnx.onnx.AttrType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.GraphBuildException;
import org.catonnx.onnx.Node;
import org.catonnx.onnx.Op;
import org.catonnx.onnx.TensorData;
import org.catonnx.onnx.Value;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reverse-mode differentiation over a built graph. The gradient nodes are added to the same
 * graph under the scope /grad/&lt;forward node&gt;/..., so one model computes the forward values
 * and the gradients. Only nodes on a path from a wrt value to the loss through floating-point
 * values are differentiated; integer index arithmetic (Shape, Range, Equal, ...) is left alone.
 * Gradients of values used several times are summed.
 */
public final class Gradients {
    private Gradients() {}

    /** d loss / d v for every v in wrt (loss need not be a scalar: the seed is ones of its shape). */
    public static Map<Value, Value> build(Graph g, Value loss, List<Value> wrt) {
        return build(g, loss, wrt, null);
    }

    /**
     * @param seed the gradient of loss (same shape), or null for ones
     * @return gradient per wrt value, in wrt order (zeros for values the loss does not depend on)
     */
    public static Map<Value, Value> build(Graph g, Value loss, List<Value> wrt, Value seed) {
        if (!g.isRoot()) throw new GraphBuildException("gradients are built on a root graph, not " + g.name());
        if (!loss.type().isFloating()) throw new GraphBuildException("loss " + loss + " is not floating point");
        for (Value w : wrt) {
            if (!w.type().isFloating()) throw new GraphBuildException("cannot differentiate with respect to " + w + ": not floating point");
        }
        GradContext c = new GradContext(g);
        List<Node> nodes = new ArrayList<>(g.nodes());

        // values depending on a wrt value through floating values
        Set<Value> active = identitySet();
        active.addAll(wrt);
        Map<Node, List<Value>> inputsOf = new IdentityHashMap<>();
        for (Node n : nodes) {
            List<Value> ins = allInputs(n);
            inputsOf.put(n, ins);
            boolean any = false;
            for (Value v : ins) if (v != null && active.contains(v)) any = true;
            if (any) for (Value o : n.outputs) if (o != null && o.type().isFloating()) active.add(o);
        }
        // active values the loss depends on
        Set<Value> onPath = identitySet();
        if (active.contains(loss)) onPath.add(loss);
        List<Node> path = new ArrayList<>();
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node n = nodes.get(i);
            boolean reaches = false;
            for (Value o : n.outputs) if (onPath.contains(o)) reaches = true;
            if (!reaches) continue;
            path.add(n);
            for (Value v : inputsOf.get(n)) if (v != null && active.contains(v)) onPath.add(v);
        }

        Map<Value, List<Value>> contrib = new IdentityHashMap<>();
        Map<Value, Value> done = new IdentityHashMap<>();
        try (Graph.Scope s = g.scope("grad")) {
            Value seedValue = seed;
            if (seedValue == null && onPath.contains(loss)) {
                seedValue = loss.shape().hasRank() && loss.rank() == 0
                        ? c.scalar(1, loss.type())
                        : g.constantOfShape(c.shapeOf(loss), one(loss));
            }
            if (seedValue != null) contrib.computeIfAbsent(loss, k -> new ArrayList<>()).add(seedValue);

            for (Node n : path) {
                if (n.op == Op.LOOP || n.op == Op.IF) {
                    throw GradientRules.unsupported(n, "control flow is not differentiated");
                }
                GradientRule rule = GradientRules.rule(n.op);
                if (rule == null) throw GradientRules.unsupported(n, "operator " + n.op.onnxType + " has no gradient rule");
                Value[] gy = new Value[n.outputs.size()];
                boolean any = false;
                for (int i = 0; i < gy.length; i++) {
                    gy[i] = total(c, n.output(i), contrib, done);
                    any |= gy[i] != null;
                }
                if (!any) continue;
                boolean[] wants = new boolean[n.inputs.size()];
                boolean anyWant = false;
                for (int i = 0; i < wants.length; i++) {
                    Value v = n.input(i);
                    wants[i] = v != null && v.type().isFloating() && onPath.contains(v);
                    anyWant |= wants[i];
                }
                if (!anyWant) continue;
                Value[] gx;
                try (Graph.Scope s2 = g.scope(scopeName(n))) {
                    gx = rule.apply(c, n, gy, wants);
                }
                for (int i = 0; i < wants.length; i++) {
                    if (!wants[i] || gx[i] == null) continue;
                    contrib.computeIfAbsent(n.input(i), k -> new ArrayList<>()).add(gx[i]);
                }
            }
            Map<Value, Value> out = new LinkedHashMap<>();
            for (Value w : wrt) {
                Value gw = total(c, w, contrib, done);
                out.put(w, gw != null ? gw : c.zerosLike(w));
            }
            return out;
        }
    }

    private static TensorData one(Value v) {
        switch (v.type()) {
            case DOUBLE: return TensorData.ofDoubles(new double[] {1}, 1);
            default: return TensorData.ofFloats(new float[] {1}, 1).castTo(v.type());
        }
    }

    /** Sum of the contributions to v's gradient (memoized: a value is summed once). */
    private static Value total(GradContext c, Value v, Map<Value, List<Value>> contrib, Map<Value, Value> done) {
        if (done.containsKey(v)) return done.get(v);
        List<Value> l = contrib.get(v);
        Value s = null;
        if (l != null) {
            for (Value x : l) s = s == null ? x : c.g.add(s, x);
        }
        done.put(v, s);
        return s;
    }

    private static String scopeName(Node n) {
        String s = n.name.startsWith("/") ? n.name.substring(1) : n.name;
        s = s.replace('/', '.');
        return s.isEmpty() ? n.op.onnxType : s;
    }

    private static <T> Set<T> identitySet() {
        return java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    }

    /** A node's inputs plus outer values its subgraphs (Loop/If bodies) read. */
    private static List<Value> allInputs(Node n) {
        List<Value> l = new ArrayList<>(n.inputs);
        for (Map.Entry<String, Object> e : n.attributes.entrySet()) {
            if (n.op.attributes().get(e.getKey()) == AttrType.GRAPH) outerReads((Graph) e.getValue(), l);
        }
        return l;
    }

    private static void outerReads(Graph body, List<Value> out) {
        Set<Value> local = identitySet();
        local.addAll(body.inputs());
        for (Node n : body.nodes()) local.addAll(n.outputs);
        for (Node n : body.nodes()) {
            for (Value v : allInputs(n)) if (v != null && !local.contains(v)) out.add(v);
        }
    }
}
