package org.catonnx.runtime;

import java.util.Arrays;
import java.util.List;
import org.catonnx.onnx.DType;

/**
 * A model input or output as declared: element type ({@code null} when it is not one {@link DType} covers,
 * e.g. a string tensor or a sequence), shape with -1 for dynamic dimensions, and the symbolic dimension names
 * ("" where a dimension has none).
 */
public record TensorSpec(String name, DType type, long[] shape, List<String> dimNames) {
    public TensorSpec {
        shape = shape.clone();
        dimNames = List.copyOf(dimNames);
    }

    @Override
    public long[] shape() { return shape.clone(); }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(name).append(": ").append(type == null ? "unsupported" : type).append('[');
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) s.append(", ");
            s.append(shape[i] >= 0 ? Long.toString(shape[i]) : dimNames.get(i).isEmpty() ? "?" : dimNames.get(i));
        }
        return s.append(']').toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t && name.equals(t.name) && type == t.type
                && Arrays.equals(shape, t.shape) && dimNames.equals(t.dimNames);
    }

    @Override
    public int hashCode() { return 31 * name.hashCode() + Arrays.hashCode(shape); }
}
