package org.catonnx.runtime.gpu;

import ai.onnxruntime.OrtLoggingLevel;
import org.catonnx.nn.GraphOptions;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Presets;
import org.catonnx.models.RandomInit;
import org.catonnx.nn.AttentionForm;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.runtime.ModelSession;
import org.catonnx.runtime.OrtRuntime;

import java.util.Map;

/**
 * Diagnostic for the GPU machine: opens each graph of a preset on CUDA with verbose session
 * logging, so ONNX Runtime prints which nodes it placed on which provider (stderr).
 * args: preset [float32|bfloat16]
 */
public final class PlacementProbe {
    public static void main(String[] args) {
        ModelSpec spec = Presets.get(args[0], 0);
        DType p = DType.parsePrecision(args.length > 1 ? args[1] : "float32");
        RandomInit w = new RandomInit(spec, 1);
        for (Map.Entry<String, Graph> e : CudaTest.graphs(spec, w, new GraphOptions(p, AttentionForm.EFFICIENT)).entrySet()) {
            System.err.println("=== " + args[0] + " " + p + " " + e.getKey());
            try (ModelSession s = OrtRuntime.get().open(new OnnxModel(e.getValue()).toBytes(),
                    CudaTest.CUDA.withLogSeverity(OrtLoggingLevel.ORT_LOGGING_LEVEL_VERBOSE))) {
                System.err.println("=== opened on " + s.provider());
            } catch (RuntimeException ex) {
                System.err.println("=== failed: " + ex.getMessage());
            }
        }
    }
}
