package org.catonnx.runtime.golden;

import org.catonnx.exporter.reference.ReferenceCase;
import org.catonnx.nn.GraphOptions;
import org.catonnx.runtime.SessionConfig;
import org.catonnx.runtime.verify.Check;
import org.catonnx.runtime.verify.ReferenceVerifier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** RMSNorm as ONNX Runtime's fused SimplifiedLayerNormalization still matches the reference (logits, loss, generation). */
class FusedNormTest {
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.catonnx.runtime.golden.GoldenCases#names")
    void fusedNormMatchesReference(String name) throws Exception {
        try (ReferenceCase rc = ReferenceCase.open(GoldenCases.dir(name))) {
            GraphOptions o = GraphOptions.defaults().withFusedNorm(true);
            List<Check> checks = new ReferenceVerifier(o, SessionConfig.defaults(), s -> { }).verify(rc);
            for (Check c : checks) {
                if (!c.output.startsWith("grad.")) System.out.println(name + " [fused norm] " + c);
                assertTrue(c.passed(), name + ": " + c);
            }
        }
    }
}
