package org.catonnx.runtime.gpu;

import org.catonnx.exporter.reference.ReferenceCase;
import org.catonnx.graphs.DecodeGraphs;
import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.graphs.GenerationLoopGraphs;
import org.catonnx.nn.GraphOptions;
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
import org.catonnx.runtime.verify.PlacementCheck;
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

    /**
     * No floating-point node runs on the CPU provider (from ONNX Runtime's profiling trace of a
     * real run). session.disable_cpu_ep_fallback=1 cannot be the check: ONNX Runtime keeps integer
     * shape math on the CPU by design and that option then refuses every dynamic-shape graph.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tiny-dense", "tiny-cat", "tiny-adaptive", "tiny-hybrid"})
    void noFloatingPointWorkFallsBackToCpu(String preset) throws Exception {
        ModelSpec spec = Presets.get(preset, 0);
        RandomInit w = new RandomInit(spec, 1);
        java.nio.file.Path traces = java.nio.file.Files.createTempDirectory("placement");
        List<String> failures = new ArrayList<>();
        long[] ids = new long[2 * 21];
        for (int i = 0; i < ids.length; i++) ids[i] = i % 200;
        Map<String, org.catonnx.onnx.TensorData> feeds = Map.of("input_ids", org.catonnx.onnx.TensorData.ofLongs(ids, 2, 21));
        for (DType precision : new DType[] {DType.FLOAT, DType.BFLOAT16}) {
            GraphOptions o = new GraphOptions(precision, AttentionForm.EFFICIENT);
            Map<String, Graph> graphs = new LinkedHashMap<>();
            graphs.put("forward", ForwardGraphs.forward(spec, w, spec.chunkSize(), o));
            if (spec.variant != Variant.CAT_LAYER) {
                graphs.put("generate", spec.variant == Variant.TRANSFORMER ? GenerationLoopGraphs.dense(spec, w, o) : GenerationLoopGraphs.cat(spec, w, spec.chunkSize(), o));
            }
            for (Map.Entry<String, Graph> e : graphs.entrySet()) {
                Map<String, org.catonnx.onnx.TensorData> in = new java.util.HashMap<>(feeds);
                if (e.getKey().equals("generate")) in.put(GenerationLoopGraphs.MAX_NEW_TOKENS, org.catonnx.onnx.TensorData.ofLongs(new long[] {12}));
                PlacementCheck.Report r = PlacementCheck.run(e.getValue(), in, CUDA, traces);
                System.out.println(preset + " " + precision + " " + e.getKey() + ": " + r);
                if (!r.floatingOnCpu.isEmpty()) failures.add(preset + " " + precision + " " + e.getKey() + ": " + r.floatingOnCpu);
            }
        }
        // every graph kind at least loads with the CUDA provider
        for (DType precision : new DType[] {DType.FLOAT, DType.BFLOAT16}) {
            for (Map.Entry<String, Graph> e : graphs(spec, w, new GraphOptions(precision, AttentionForm.EFFICIENT)).entrySet()) {
                try (ModelSession s = OrtRuntime.get().open(new OnnxModel(e.getValue()).toBytes(), CUDA)) {
                    assertTrue(s.provider().startsWith("CUDA"));
                } catch (RuntimeException ex) {
                    failures.add(preset + " " + precision + " " + e.getKey() + " does not load: " + ex.getMessage());
                }
            }
        }
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
