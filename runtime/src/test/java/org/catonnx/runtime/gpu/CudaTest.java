package org.catonnx.runtime.gpu;

import org.catonnx.exporter.reference.ReferenceCase;
import org.catonnx.graphs.DecodeGraphs;
import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.graphs.GenerationLoopGraphs;
import org.catonnx.graphs.GraphOptions;
import org.catonnx.graphs.LayerDecodeGraphs;
import org.catonnx.graphs.TrainingGraphs;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Presets;
import org.catonnx.models.RandomInit;
import org.catonnx.models.Variant;
import org.catonnx.nn.AttentionForm;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.runtime.CustomOps;
import org.catonnx.runtime.Device;
import org.catonnx.runtime.ModelSession;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.SessionConfig;
import org.catonnx.runtime.golden.GoldenCases;
import org.catonnx.runtime.verify.Check;
import org.catonnx.runtime.verify.ReferenceVerifier;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CUDA provider: golden cases in float32 with TF32 off, every node placed on CUDA, the custom op. */
@Tag("gpu")
class CudaTest {
    static final SessionConfig CUDA = SessionConfig.defaults().withDevice(Device.CUDA).withTf32(false);

    @BeforeAll
    static void needsCuda() {
        Assumptions.assumeTrue(OrtRuntime.cudaAvailable(), "no CUDA provider here");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.catonnx.runtime.golden.GoldenCases#names")
    void goldenCasesPassOnCuda(String name) throws Exception {
        verify(name, GraphOptions.defaults(), CUDA);
    }

    @ParameterizedTest(name = "{0} custom op")
    @ValueSource(strings = {"cat_c4", "cat_c8_qknorm", "cat_adaptive_c8", "cat_layer_c4"})
    void goldenCasesPassWithTheCustomOpOnCuda(String name) throws Exception {
        SessionConfig sc = CUDA.withCustomOpLibrary(CustomOps.cudaLibrary().orElseThrow(() -> new AssertionError("CUDA custom-op library not built")));
        verify(name, GraphOptions.defaults().withAttentionForm(AttentionForm.CUSTOM), sc);
    }

    private static void verify(String name, GraphOptions o, SessionConfig sc) throws Exception {
        try (ReferenceCase rc = ReferenceCase.open(GoldenCases.dir(name))) {
            List<Check> checks = new ReferenceVerifier(o, sc, s -> { }).verify(rc);
            for (Check c : checks) {
                if (!c.output.startsWith("grad.") || !c.passed()) System.out.println(name + " [CUDA " + o.attentionForm + "] " + c);
                assertTrue(c.passed(), name + ": " + c);
            }
        }
    }

    /** session.disable_cpu_ep_fallback=1: creating the session fails if any node would run on the CPU provider. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tiny-dense", "tiny-cat", "tiny-adaptive", "tiny-hybrid"})
    void everyNodeRunsOnCuda(String preset) {
        ModelSpec spec = Presets.get(preset, 0);
        RandomInit w = new RandomInit(spec, 1);
        List<String> failures = new ArrayList<>();
        for (DType precision : new DType[] {DType.FLOAT, DType.BFLOAT16}) {
            for (Map.Entry<String, Graph> e : graphs(spec, w, new GraphOptions(precision, AttentionForm.EFFICIENT)).entrySet()) {
                try (ModelSession s = OrtRuntime.get().open(new OnnxModel(e.getValue()).toBytes(), CUDA.withDisableCpuFallback(true))) {
                    System.out.println(preset + " " + precision + " " + e.getKey() + ": all nodes on " + s.provider());
                } catch (RuntimeException ex) {
                    failures.add(preset + " " + precision + " " + e.getKey() + ": " + ex.getMessage());
                }
            }
        }
        failures.forEach(System.out::println);
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    static Map<String, Graph> graphs(ModelSpec spec, RandomInit w, GraphOptions o) {
        int c = spec.chunkSize();
        Map<String, Graph> g = new LinkedHashMap<>();
        g.put("forward", ForwardGraphs.forward(spec, w, c, o));
        if (o.precision == DType.FLOAT) g.put("train", TrainingGraphs.trainingStep(spec, w, c, o, TrainingGraphs.AdamW.defaults()));
        if (spec.variant == Variant.TRANSFORMER) {
            g.put("step", DecodeGraphs.denseStep(spec, w, o));
            g.put("generate", GenerationLoopGraphs.dense(spec, w, o));
        } else if (spec.variant == Variant.CAT_LAYER) {
            g.put("start", LayerDecodeGraphs.start(spec, w, o));
            g.put("tokens", LayerDecodeGraphs.tokens(spec, w, o));
            g.put("chunk_end", LayerDecodeGraphs.chunkEnd(spec, w, o));
        } else {
            g.put("compress", DecodeGraphs.compress(spec, w, c, o));
            g.put("summaries", DecodeGraphs.summaries(spec, w, c, o));
            g.put("tokens", DecodeGraphs.tokens(spec, w, c, o));
            g.put("generate", GenerationLoopGraphs.cat(spec, w, c, o));
        }
        return g;
    }
}
