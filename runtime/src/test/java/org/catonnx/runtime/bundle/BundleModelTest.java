package org.catonnx.runtime.bundle;

import org.catonnx.exporter.bundle.BundleWriter;
import org.catonnx.exporter.bundle.Provenance;
import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.nn.GraphOptions;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Presets;
import org.catonnx.models.RandomInit;
import org.catonnx.models.Variant;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.TensorData;
import org.catonnx.runtime.ModelSession;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.SessionConfig;
import org.catonnx.runtime.generate.DecodeSessions;
import org.catonnx.runtime.generate.GenerationConfig;
import org.catonnx.runtime.generate.Generator;
import org.catonnx.runtime.generate.TokenListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** A bundle's sessions compute what the in-memory graphs compute. */
class BundleModelTest {
    @TempDir
    Path dir;

    static long[] tokens(int n, long seed, int vocab) {
        Random r = new Random(seed);
        long[] t = new long[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(vocab);
        return t;
    }

    @ParameterizedTest(name = "{0} chunk {1}")
    @CsvSource({"tiny-dense, 0", "tiny-cat, 8", "tiny-adaptive, 2", "tiny-adaptive, 8", "tiny-hybrid, 8"})
    void bundleMatchesInMemoryGraphs(String preset, int chunk) throws Exception {
        ModelSpec spec = Presets.get(preset, 0);
        RandomInit w = new RandomInit(spec, 11);
        Path out = dir.resolve(preset);
        new BundleWriter(spec, w).provenance(Provenance.preset(preset, 11)).runtimeVersion(OrtRuntime.get().version())
                .archive(dir.resolve(preset + ".cat")).write(out);
        // w now holds every weight the bundle was written with, so graphs built from it see the same model
        long[] ids = tokens(29, 5, spec.vocabSize());
        TensorData in = TensorData.ofLongs(ids, 1, ids.length);
        float[] expected;
        try (ModelSession mem = OrtRuntime.get().open(new OnnxModel(ForwardGraphs.forward(spec, w, chunk, GraphOptions.defaults())).toBytes(),
                SessionConfig.defaults())) {
            expected = mem.run(Map.of("input_ids", in)).get("logits").toFloats();
        }
        for (Path source : List.of(out, dir.resolve(preset + ".cat"))) {
            try (BundleModel bm = BundleModel.open(source, SessionConfig.defaults())) {
                try (ModelSession s = bm.forward(chunk)) {
                    TensorData logits = s.run(Map.of("input_ids", in)).get("logits");
                    assertArrayEquals(new long[] {1, ids.length, spec.paddedVocabSize()}, logits.shape());
                    float[] got = logits.toFloats();
                    double worst = 0;
                    for (int i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected[i]));
                    assertTrue(worst <= 1e-5, preset + " from " + source.getFileName() + ": max logits error " + worst);
                }
                List<long[]> prompts = List.of(tokens(13, 1, spec.vocabSize()), tokens(13, 2, spec.vocabSize()), tokens(6, 3, spec.vocabSize()));
                GenerationConfig greedy = GenerationConfig.greedy(20);
                List<long[]> fromBundle, fromMemory;
                try (Generator g = bm.generator(chunk)) {
                    fromBundle = g.generate(prompts, greedy, TokenListener.NONE);
                }
                try (Generator g = new Generator(spec, chunk, DecodeSessions.build(spec, w, chunk, GraphOptions.defaults(), SessionConfig.defaults()))) {
                    fromMemory = g.generate(prompts, greedy, TokenListener.NONE);
                }
                for (int r = 0; r < prompts.size(); r++) {
                    assertEquals(20, fromBundle.get(r).length);
                    assertArrayEquals(fromMemory.get(r), fromBundle.get(r), preset + " row " + r);
                }
                if (spec.variant != Variant.CAT_LAYER) {
                    // the bundle's in-graph generation loop gives the same tokens as its step-by-step decoder
                    try (Generator g = bm.generator(chunk)) {
                        List<long[]> looped = g.generate(prompts, greedy.withInGraphLoop(true), TokenListener.NONE);
                        for (int r = 0; r < prompts.size(); r++) assertArrayEquals(fromBundle.get(r), looped.get(r), preset + " loop row " + r);
                    }
                }
            }
        }
    }

    /** A bundle exported with fused decoding names ONNX Runtime's contrib domain for its generate graph and generates the same tokens. */
    @ParameterizedTest(name = "{0} chunk {1}")
    @CsvSource({"tiny-dense, 0", "tiny-cat, 8"})
    void fusedDecodeBundleDeclaresContribOpsAndGenerates(String preset, int chunk) throws Exception {
        ModelSpec spec = Presets.get(preset, 0);
        Path out = dir.resolve(preset + "-fused");
        new BundleWriter(spec, new RandomInit(spec, 3)).options(GraphOptions.defaults().withFusedDecode(true)).write(out);
        com.fasterxml.jackson.databind.JsonNode manifest = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.resolve("manifest.json").toFile());
        int contrib = 0;
        for (com.fasterxml.jackson.databind.JsonNode g : manifest.get("graphs")) {
            boolean generate = g.get("purpose").asText().equals("generate");
            assertEquals(generate, g.has("contrib_domain"), g.get("file").asText());
            if (generate) {
                assertEquals("com.microsoft", g.get("contrib_domain").asText());
                contrib++;
            }
        }
        assertTrue(contrib > 0, "a generate graph");
        try (BundleModel bm = BundleModel.open(out, SessionConfig.defaults()); Generator g = bm.generator(chunk)) {
            List<long[]> prompts = List.of(tokens(11, 4, spec.vocabSize()), tokens(11, 5, spec.vocabSize()));
            GenerationConfig greedy = GenerationConfig.greedy(17);
            List<long[]> step = g.generate(prompts, greedy, TokenListener.NONE), loop = g.generate(prompts, greedy.withInGraphLoop(true), TokenListener.NONE);
            for (int r = 0; r < prompts.size(); r++) assertArrayEquals(step.get(r), loop.get(r), preset + " row " + r);
        }
    }

    @Test
    void fusedDecodeExportOfAdaptiveCatIsRefusedBeforeWriting() {
        ModelSpec spec = Presets.get("tiny-adaptive", 0);
        Path out = dir.resolve("adaptive-fused");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new BundleWriter(spec, new RandomInit(spec, 1))
                .options(GraphOptions.defaults().withFusedDecode(true)).write(out));
        assertTrue(e.getMessage().contains("adaptive"), e.getMessage());
        assertTrue(java.nio.file.Files.notExists(out), "nothing written");
    }

    @Test
    void refusesChunkSizesTheBundleDoesNotOffer() throws Exception {
        ModelSpec spec = Presets.get("tiny-adaptive", 0);
        Path out = dir.resolve("a");
        new BundleWriter(spec, new RandomInit(spec, 1)).chunkSizes(2, 8).write(out);
        try (BundleModel bm = BundleModel.open(out, SessionConfig.defaults())) {
            for (int bad : new int[] {4, 3, 16}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> bm.forward(bad));
                assertTrue(e.getMessage().contains("[2, 8]") && e.getMessage().contains(Integer.toString(bad)), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> bm.decodeSessions(bad));
                assertThrows(IllegalArgumentException.class, () -> bm.generator(bad));
            }
            try (DecodeSessions d = bm.decodeSessions(0)) {
                for (String k : List.of("start", "compress", "summaries", "tokens")) assertNotNull(d.get(k));
            }
        }
    }
}
