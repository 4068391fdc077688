package org.catonnx.exporter.bundle;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Presets;
import org.catonnx.models.RandomInit;
import org.catonnx.models.Variant;
import org.catonnx.onnx.TensorData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Writing a bundle and opening it again gives every graph, loadable, with a consistent manifest. */
class BundleRoundTripTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"tiny-dense", "tiny-cat", "tiny-adaptive", "tiny-hybrid"})
    void everyVariantRoundTrips(String preset) throws Exception {
        ModelSpec spec = Presets.get(preset, 0);
        RandomInit w = new RandomInit(spec, 3);
        Path tok = Files.writeString(dir.resolve("tok.json"), "{\"model\": {\"type\": \"BPE\"}}");
        List<String> progress = new ArrayList<>();
        Path out = dir.resolve(preset);
        BundleWriter writer = new BundleWriter(spec, w).provenance(Provenance.preset(preset, 3)).tokenizer(tok)
                .runtimeVersion("test").toolVersion("cat-onnx test").progress(progress::add).archive(dir.resolve(preset + ".cat"));
        BundleWriter.Result r = writer.write(out);

        int perChunk = spec.variant == Variant.TRANSFORMER ? 4 : spec.variant == Variant.CAT_LAYER ? 5 : 7; // forward, loss + decode graphs
        int chunks = Math.max(1, spec.chunkSizes().length);
        assertEquals(perChunk * chunks, r.graphCount());
        assertEquals(r.graphCount(), progress.stream().filter(l -> l.startsWith("[")).count(), String.join("\n", progress));

        long created = w.tensors().values().stream().mapToLong(TensorData::numElements).sum();
        try (Bundle b = Bundle.open(out)) {
            check(b, spec, r, created);
            assertEquals("{\"model\": {\"type\": \"BPE\"}}", Files.readString(b.tokenizer().orElseThrow()));
            assertTrue(b.warnings().isEmpty(), b.warnings().toString());
        }
        // the archive holds the same bundle
        try (Bundle a = Bundle.open(dir.resolve(preset + ".cat"))) {
            assertTrue(a.fromArchive());
            check(a, spec, r, created);
            com.fasterxml.jackson.databind.ObjectMapper om = new com.fasterxml.jackson.databind.ObjectMapper();
            assertEquals(om.readTree(om.writeValueAsString(r.manifest())), a.manifest(), "the archive holds the same manifest");
        }
        // no temporaries beside the outputs
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(Set.of("tok.json", preset, preset + ".cat"), s.map(p -> p.getFileName().toString()).collect(Collectors.toSet()));
        }
    }

    private static void check(Bundle b, ModelSpec spec, BundleWriter.Result r, long created) throws Exception {
        JsonNode m = b.manifest();
        assertEquals(BundleFormat.FORMAT, b.format());
        assertEquals(spec.toString(), b.spec().toString());
        assertArrayEquals(spec.chunkSizes(), b.chunkSizes());
        assertEquals(created, b.parameterCount(), "parameter count = every parameter created once");
        assertEquals(r.totalBytes(), b.totalBytes());
        assertEquals("float32", m.get("precision").asText());
        assertEquals("efficient", m.get("attention").asText());
        assertFalse(b.usesCustomOps());
        assertEquals("preset", m.get("provenance").get("source").asText());
        assertTrue(m.get("provenance").get("created_utc").asText().endsWith("Z"));

        // weights: every tensor written once, all inside the file, no overlaps
        JsonNode tensors = m.get("weights").get("tensors");
        Set<String> names = new HashSet<>();
        long end = 0;
        for (JsonNode t : tensors) {
            assertTrue(names.add(t.get("name").asText()), "tensor written twice: " + t.get("name"));
            assertTrue(t.get("offset").asLong() >= end, "overlap at " + t.get("name"));
            end = t.get("offset").asLong() + t.get("length").asLong();
        }
        assertTrue(end <= b.weightsBytes());
        if (spec.variant == Variant.CAT_ADAPTIVE) {
            for (int c : new int[] {1, 2, 4}) assertTrue(names.contains("f.proj_fx.weight@chunk" + c), "resized proj_fx for chunk " + c);
        }
        // every graph loads from its path and declares what the manifest says
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        for (Bundle.GraphEntry g : b.graphs()) {
            try (OrtSession.SessionOptions so = new OrtSession.SessionOptions(); OrtSession s = env.createSession(g.path().toString(), so)) {
                List<String> in = new ArrayList<>(), outs = new ArrayList<>();
                g.json().get("inputs").forEach(v -> in.add(v.get("name").asText()));
                g.json().get("outputs").forEach(v -> outs.add(v.get("name").asText()));
                assertEquals(Set.copyOf(in), s.getInputNames(), g.file());
                assertEquals(Set.copyOf(outs), s.getOutputNames(), g.file());
            }
            assertEquals(g.path(), b.graph(g.purpose(), g.chunkSize()));
        }
        JsonNode fwd = b.find(BundleFormat.FORWARD, b.resolveChunk(0)).orElseThrow().json();
        assertEquals("input_ids", fwd.get("inputs").get(0).get("name").asText());
        assertEquals("int64", fwd.get("inputs").get(0).get("type").asText());
        assertEquals("batch", fwd.get("inputs").get(0).get("shape").get(0).asText());
        assertEquals("float32", fwd.get("outputs").get(0).get("type").asText());
        assertEquals(spec.paddedVocabSize(), fwd.get("outputs").get(0).get("shape").get(2).asInt());
    }

    @Test
    void adaptiveSubsetAndHalfPrecision() throws Exception {
        ModelSpec spec = Presets.get("tiny-adaptive", 0);
        Path out = dir.resolve("b");
        new BundleWriter(spec, new RandomInit(spec, 1)).chunkSizes(8, 2)
                .options(org.catonnx.nn.GraphOptions.defaults().withPrecision(org.catonnx.onnx.DType.FLOAT16)).write(out);
        try (Bundle b = Bundle.open(out)) {
            assertArrayEquals(new int[] {2, 8}, b.chunkSizes());
            assertEquals(14, b.graphs().size());
            assertEquals(org.catonnx.onnx.DType.FLOAT16, b.precision());
            assertEquals(8, b.resolveChunk(0));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.graph("forward", 4));
            assertTrue(e.getMessage().contains("[2, 8]"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new BundleWriter(spec, new RandomInit(spec, 1)).chunkSizes(3).write(dir.resolve("c")));
        assertFalse(Files.exists(dir.resolve("c")));
    }

    @Test
    void refusesToReplaceSomethingThatIsNotABundle() throws Exception {
        ModelSpec spec = Presets.get("tiny-dense", 0);
        Path out = Files.createDirectories(dir.resolve("home"));
        Files.writeString(out.resolve("precious.txt"), "keep me");
        Exception e = assertThrows(java.io.IOException.class, () -> new BundleWriter(spec, new RandomInit(spec, 1)).write(out));
        assertTrue(e.getMessage().contains("not a bundle"), e.getMessage());
        assertEquals("keep me", Files.readString(out.resolve("precious.txt")));
        // an existing bundle is replaced only when asked
        Path b = dir.resolve("bundle");
        new BundleWriter(spec, new RandomInit(spec, 1)).write(b);
        assertThrows(java.io.IOException.class, () -> new BundleWriter(spec, new RandomInit(spec, 2)).write(b));
        new BundleWriter(spec, new RandomInit(spec, 2)).overwrite(true).provenance(Provenance.preset("tiny-dense", 2)).write(b);
        try (Bundle x = Bundle.open(b)) {
            assertEquals(2, x.manifest().get("provenance").get("seed").asInt());
        }
    }
}
