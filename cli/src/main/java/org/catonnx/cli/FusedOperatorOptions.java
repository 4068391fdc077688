package org.catonnx.cli;

import org.catonnx.nn.GraphOptions;
import picocli.CommandLine.Option;

/** The ONNX Runtime-only operator choices that graph-building commands share (a picocli mixin). */
final class FusedOperatorOptions {
    static final String FUSED_NORM = "RMSNorm as ONNX Runtime's SimplifiedLayerNormalization (fewer nodes; not a standard ONNX operator)";

    @Option(names = "--fused-norm", description = FUSED_NORM)
    boolean fusedNorm;
    @Option(names = "--fused-decode", description = "the in-graph generation loop (generate graph) decodes with ONNX Runtime's "
            + "GroupQueryAttention and RotaryEmbedding over fixed-size caches (ONNX Runtime only; CUDA: float16/bfloat16, "
            + "CPU: float32/float16)")
    boolean fusedDecode;

    GraphOptions applyTo(GraphOptions o) {
        return o.withFusedNorm(fusedNorm).withFusedDecode(fusedDecode);
    }
}
