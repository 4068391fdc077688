package org.catonnx.runtime.golden;

import org.catonnx.exporter.reference.ReferenceCase;
import org.catonnx.nn.GraphOptions;
import org.catonnx.nn.AttentionForm;
import org.catonnx.runtime.SessionConfig;
import org.catonnx.runtime.verify.Check;
import org.catonnx.runtime.verify.ReferenceVerifier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every golden case, every graph kind it has tensors for (logits, ragged, loss, gradients, generation), both portable attention forms (float32). */
class GoldenForwardTest {
    static Stream<Arguments> cases() {
        return GoldenCases.ALL.stream().flatMap(c -> Stream.of(Arguments.of(c, AttentionForm.EFFICIENT), Arguments.of(c, AttentionForm.MASKED)));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void matchesReference(String name, AttentionForm form) throws Exception {
        try (ReferenceCase rc = ReferenceCase.open(GoldenCases.dir(name))) {
            List<Check> checks = new ReferenceVerifier(GraphOptions.defaults().withAttentionForm(form), SessionConfig.defaults(), s -> { })
                    .verify(rc);
            int expected = expectedChecks(name) + (int) rc.ioNames().stream().filter(n -> n.startsWith("grad.")).count();
            assertTrue(checks.size() == expected, name + ": expected " + expected + " checks, got " + checks);
            for (Check c : checks) {
                System.out.println(name + " [" + form + "] " + c);
                assertTrue(c.passed(), name + ": " + c);
            }
        }
    }

    private static int expectedChecks(String name) {
        switch (name) {
            case "cat_adaptive_c8": return 4 + 1 + 1; // logits.p0..p3, ragged, loss
            case "cat_layer_c4": return 2;           // no ragged input for the layer variant
            case "cat_c4": case "cat_c8_qknorm": return 4; // + greedy generation
            default: return 3;
        }
    }
}
