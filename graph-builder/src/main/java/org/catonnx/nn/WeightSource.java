package org.catonnx.nn;

import org.catonnx.onnx.TensorData;

import java.util.Map;

/** Where a model's parameters come from, by the reference's state_dict names. */
@FunctionalInterface
public interface WeightSource {
    /** The tensor of that name; throws MissingWeightException when absent. */
    TensorData tensor(String name);

    /** The tensor a model asks for with the shape it needs (sources that create weights use the shape). */
    default TensorData tensor(String name, long[] shape) {
        return tensor(name);
    }

    static WeightSource of(Map<String, TensorData> tensors) {
        return name -> {
            TensorData t = tensors.get(name);
            if (t == null) throw new MissingWeightException(name);
            return t;
        };
    }

    /** A missing parameter, named. */
    final class MissingWeightException extends IllegalArgumentException {
        public MissingWeightException(String name) {
            super("checkpoint has no tensor '" + name + "'");
        }
    }
}
