package org.catonnx.onnx;

import java.util.Collections;
import java.util.List;
import java.util.Map;

/** One operator application in a graph. Inputs may contain null for omitted optional inputs. */
public final class Node {
    public final Op op;
    public final String name;
    public final List<Value> inputs;
    public final List<Value> outputs;
    public final Map<String, Object> attributes;

    Node(Op op, String name, List<Value> inputs, List<Value> outputs, Map<String, Object> attributes) {
        this.op = op;
        this.name = name;
        this.inputs = Collections.unmodifiableList(inputs);
        this.outputs = Collections.unmodifiableList(outputs);
        this.attributes = Collections.unmodifiableMap(attributes);
    }

    public Value input(int i) { return i < inputs.size() ? inputs.get(i) : null; }
    public Value output(int i) { return outputs.get(i); }

    public long intAttr(String name, long dflt) {
        Object v = attributes.get(name);
        return v == null ? dflt : ((Number) v).longValue();
    }

    public float floatAttr(String name, float dflt) {
        Object v = attributes.get(name);
        return v == null ? dflt : ((Number) v).floatValue();
    }

    public long[] intsAttr(String name) {
        Object v = attributes.get(name);
        if (v == null) return null;
        if (v instanceof int[]) {
            int[] a = (int[]) v;
            long[] l = new long[a.length];
            for (int i = 0; i < a.length; i++) l[i] = a[i];
            return l;
        }
        return (long[]) v;
    }

    @Override
    public String toString() {
        return name + " (" + op.onnxType + ")";
    }
}
