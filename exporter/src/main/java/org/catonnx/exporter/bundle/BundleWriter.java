package org.catonnx.exporter.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.catonnx.exporter.io.AtomicFiles;
import org.catonnx.graphs.DecodeGraphs;
import org.catonnx.graphs.FixedStepGraphs;
import org.catonnx.graphs.GenerationLoopGraphs;
import org.catonnx.graphs.LayerDecodeGraphs;
import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.nn.GraphOptions;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Variant;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.Dim;
import org.catonnx.onnx.Domains;
import org.catonnx.onnx.ExternalData;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.Value;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Writes a model bundle directory (docs/BUNDLE.md): every graph the model offers for each chosen
 * chunk size, one shared external-data weights file, an optional tokenizer and manifest.json.
 * The directory is filled under a temporary name and renamed into place only when complete
 * (manifest last), so an interrupted or failed export leaves no bundle and no temporaries.
 *
 * <pre>{@code
 * BundleWriter.Result r = new BundleWriter(spec, weights)
 *         .provenance(Provenance.preset("tiny-cat", 0))
 *         .progress(System.out::println)
 *         .write(Path.of("out/tiny-cat"));
 * }</pre>
 */
public final class BundleWriter {
    /** Initializers of at least this many bytes go to the shared weights file by default. */
    public static final long DEFAULT_MIN_EXTERNAL_BYTES = 1024;

    /** Checks one written graph file before the bundle is committed (e.g. loads it in ONNX Runtime). */
    @FunctionalInterface
    public interface GraphCheck {
        void check(String purpose, int chunk, Path graphFile) throws IOException;
    }

    /** What was written. */
    public record Result(Path dir, Path archive, JsonNode manifest, long totalBytes, long parameterCount, int graphCount) {}

    private final ModelSpec spec;
    private final WeightSource weights;
    private GraphOptions options = GraphOptions.defaults();
    private int[] chunkSizes;
    private Path tokenizer;
    private Provenance provenance = Provenance.other("unspecified");
    private String toolVersion = "cat-onnx dev";
    private String runtimeVersion;
    private long minExternalBytes = DEFAULT_MIN_EXTERNAL_BYTES;
    private boolean overwrite;
    private Consumer<String> progress = s -> {};
    private GraphCheck check;
    private Path archive;
    private int fixedStepBatch;

    public BundleWriter(ModelSpec spec, WeightSource weights) {
        this.spec = Objects.requireNonNull(spec, "spec");
        this.weights = Objects.requireNonNull(weights, "weights");
    }

    public BundleWriter options(GraphOptions o) { this.options = Objects.requireNonNull(o); return this; }

    /** Chunk sizes to export (adaptive: any subset of 1, 2, 4 .. C); default: all the model offers. */
    public BundleWriter chunkSizes(int... sizes) { this.chunkSizes = sizes == null || sizes.length == 0 ? null : sizes.clone(); return this; }

    /** A tokenizer.json to copy into the bundle (checked to be JSON). */
    public BundleWriter tokenizer(Path file) { this.tokenizer = file; return this; }

    /**
     * Also write the fixed-shape step graphs (FixedStepGraphs) for this batch: greedy decoding one
     * token per run with caches bound in place (runtime's bound sessions, ONNX Runtime's IO binding
     * from Python or C++, CUDA graphs). Fixed-chunk CAT and dense models only; 0 = none.
     */
    public BundleWriter fixedStepBatch(int batch) {
        if (batch < 0) throw new IllegalArgumentException("fixed-step batch must be >= 0, got " + batch);
        this.fixedStepBatch = batch;
        return this;
    }

    public BundleWriter provenance(Provenance p) { this.provenance = Objects.requireNonNull(p); return this; }

    public BundleWriter toolVersion(String v) { this.toolVersion = Objects.requireNonNull(v); return this; }

    /** The ONNX Runtime version the graphs were (or will be, by {@link #check}) verified with; recorded only. */
    public BundleWriter runtimeVersion(String v) { this.runtimeVersion = v; return this; }

    public BundleWriter minExternalBytes(long n) {
        if (n < 0) throw new IllegalArgumentException("minExternalBytes must be >= 0");
        this.minExternalBytes = n;
        return this;
    }

    /** Replace an existing bundle at the target (never a directory that is not a bundle). */
    public BundleWriter overwrite(boolean on) { this.overwrite = on; return this; }

    /** Called with a line per graph written (and a few other steps). */
    public BundleWriter progress(Consumer<String> p) { this.progress = Objects.requireNonNull(p); return this; }

    /** Runs on every graph file in the temporary directory; a failure aborts the export. */
    public BundleWriter check(GraphCheck c) { this.check = c; return this; }

    /** Also write the bundle as one zip archive (.cat or .zip), atomically. */
    public BundleWriter archive(Path file) {
        if (file != null && !BundleFormat.isArchiveName(file)) throw new IllegalArgumentException("archive name must end in .cat or .zip: " + file);
        this.archive = file;
        return this;
    }

    /** The chunk sizes that will be exported; dense models have none (their graphs have chunk 0). */
    public int[] resolvedChunkSizes() {
        int[] offered = spec.chunkSizes();
        if (chunkSizes == null) return offered;
        if (spec.variant == Variant.TRANSFORMER) throw new IllegalArgumentException("a dense model has no chunk sizes to choose");
        int[] s = Arrays.stream(chunkSizes).distinct().sorted().toArray();
        for (int c : s) {
            if (Arrays.stream(offered).noneMatch(o -> o == c)) {
                throw new IllegalArgumentException("chunk size " + c + " is not offered by this " + spec.variant.id + " model (offered: "
                        + Arrays.toString(offered) + ")");
            }
        }
        return s;
    }

    /** The graphs (purpose, chunk) that will be written, in order. */
    public List<Map.Entry<String, Integer>> plan() {
        List<Map.Entry<String, Integer>> p = new ArrayList<>();
        int[] chunks = spec.variant == Variant.TRANSFORMER ? new int[] {0} : resolvedChunkSizes();
        for (int c : chunks) {
            p.add(Map.entry(BundleFormat.FORWARD, c));
            p.add(Map.entry(BundleFormat.LOSS, c));
            List<String> decode = spec.variant == Variant.TRANSFORMER ? BundleFormat.DENSE_DECODE
                    : spec.variant == Variant.CAT_LAYER ? BundleFormat.LAYER_DECODE : BundleFormat.CAT_DECODE;
            for (String k : decode) p.add(Map.entry(k, c));
            if (fixedStepBatch > 0) {
                p.add(Map.entry(BundleFormat.FIXED_STEP, c));
                if (spec.variant == Variant.CAT) p.add(Map.entry(BundleFormat.FIXED_COMPRESS, c));
            }
        }
        return p;
    }

    public Result write(Path target) throws IOException {
        Path dir = target.toAbsolutePath().normalize();
        AtomicFiles.recoverDirectory(dir);   // a previous export killed mid-way: put the old bundle back, drop its temporaries
        refuseUnsafeTarget(dir);
        if (tokenizer != null) {
            if (!Files.isRegularFile(tokenizer)) throw new IOException("tokenizer file not found: " + tokenizer);
            try {
                new ObjectMapper().readTree(tokenizer.toFile());
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IOException(tokenizer.getFileName() + ": not valid JSON: " + e.getOriginalMessage());
            }
        }
        if (options.fusedDecode) GenerationLoopGraphs.requireFusedDecoding(spec);   // before hours of export, not after
        if (fixedStepBatch > 0 && spec.variant != Variant.CAT && spec.variant != Variant.TRANSFORMER) {
            throw new IllegalArgumentException("fixed-shape step graphs are built for fixed-chunk CAT and the dense model, not " + spec.variant.id);
        }
        List<Map.Entry<String, Integer>> plan = plan();
        Files.createDirectories(dir.getParent());
        ObjectNode[] manifest = new ObjectNode[1];
        long[] stats = new long[2];
        AtomicFiles.writeDirectory(dir, tmp -> {
            manifest[0] = fill(tmp, plan, stats);
        });
        progress.accept("bundle written: " + dir);
        if (archive != null) {
            BundleArchive.write(dir, archive);
            progress.accept("archive written: " + archive.toAbsolutePath().normalize());
        }
        return new Result(dir, archive, manifest[0], stats[0], stats[1], plan.size());
    }

    private void refuseUnsafeTarget(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) return;
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) throw new IOException("refusing to replace " + dir + ": it exists and is not a directory");
        boolean empty;
        try (var s = Files.list(dir)) {
            empty = s.findAny().isEmpty();
        }
        if (empty) return;
        if (!Files.isRegularFile(dir.resolve(BundleFormat.MANIFEST))) {
            throw new IOException("refusing to replace " + dir + ": it exists, is not empty and is not a bundle (no manifest.json)");
        }
        if (!overwrite) throw new IOException(dir + " already holds a bundle; choose another directory or allow overwriting");
    }

    private ObjectNode fill(Path tmp, List<Map.Entry<String, Integer>> plan, long[] stats) throws IOException {
        ObjectMapper m = new ObjectMapper();
        Path graphsDir = Files.createDirectory(tmp.resolve(BundleFormat.GRAPHS_DIR));
        ArrayNode graphs = m.createArrayNode();
        Map<String, ObjectNode> tensors = new LinkedHashMap<>();
        Map<String, Long> parameters = new LinkedHashMap<>();
        boolean anyCustom = false;
        try (ExternalData ext = new ExternalData(graphsDir.resolve(BundleFormat.WEIGHTS_NAME), BundleFormat.WEIGHTS_NAME)) {
            int i = 0;
            for (Map.Entry<String, Integer> e : plan) {
                String purpose = e.getKey();
                int chunk = e.getValue();
                Graph g = build(purpose, chunk);
                OnnxModel model = new OnnxModel(g)
                        .metadata("cat-onnx.bundle_format", BundleFormat.FORMAT)
                        .metadata("cat-onnx.purpose", purpose)
                        .metadata("cat-onnx.chunk_size", Integer.toString(chunk));
                String rel = BundleFormat.graphFile(purpose, chunk);
                Path file = tmp.resolve(rel);
                model.write(file, ext, minExternalBytes);
                boolean custom = model.usesCustomOps();
                anyCustom |= custom;
                for (Graph.Initializer init : g.initializers().values()) {
                    String name = init.value.name();
                    if (init.trainable) parameters.putIfAbsent(name, init.data.numElements());
                    ExternalData.Ref r = ext.ref(name);
                    if (r != null && !tensors.containsKey(name)) {
                        ObjectNode t = m.createObjectNode().put("name", name).put("type", BundleFormat.typeName(init.data.type()));
                        ArrayNode shape = t.putArray("shape");
                        for (long d : init.data.shape()) shape.add(d);
                        t.put("offset", r.offset).put("length", r.length);
                        tensors.put(name, t);
                    }
                }
                ObjectNode gj = graphs.addObject();
                gj.put("file", rel).put("purpose", purpose).put("chunk_size", chunk).put("name", g.name())
                        .put("opset", Domains.ONNX_OPSET).put("custom_ops", custom);
                if (custom) gj.put("custom_domain", Domains.CAT).put("custom_opset", Domains.CAT_OPSET);
                if (purpose.startsWith("fixed_")) gj.put("batch", fixedStepBatch);
                if (model.usesOnnxRuntimeContribOps()) gj.put("contrib_domain", Domains.MS).put("contrib_opset", Domains.MS_OPSET);
                gj.set("inputs", io(m, g.inputs()));
                gj.set("outputs", io(m, g.outputs()));
                if (check != null) check.check(purpose, chunk, file);
                i++;
                progress.accept(String.format("[%d/%d] %s%s -> %s (%s)", i, plan.size(), purpose, chunk > 0 ? " chunk " + chunk : "",
                        rel, BundleFormat.humanSize(Files.size(file))));
            }
        }
        if (tokenizer != null) Files.copy(tokenizer, tmp.resolve(BundleFormat.TOKENIZER));

        ObjectNode root = m.createObjectNode();
        root.put("format", BundleFormat.FORMAT);
        ObjectNode model = root.putObject("model");
        model.put("variant", spec.variant.id);
        model.set("config", spec.toJson(m));
        long params = parameters.values().stream().mapToLong(Long::longValue).sum();
        model.put("parameter_count", params);
        ArrayNode cs = root.putArray("chunk_sizes");
        for (int c : spec.variant == Variant.TRANSFORMER ? new int[0] : resolvedChunkSizes()) cs.add(c);
        root.put("precision", BundleFormat.typeName(options.precision));
        root.put("attention", options.attentionForm.name().toLowerCase(java.util.Locale.ROOT));
        root.put("opset", Domains.ONNX_OPSET);
        root.put("custom_ops", anyCustom);
        ObjectNode rt = root.putObject("onnxruntime");
        if (runtimeVersion != null) rt.put("version", runtimeVersion); else rt.putNull("version");
        rt.put("verified", check != null);
        ObjectNode w = root.putObject("weights");
        w.put("file", BundleFormat.WEIGHTS).put("min_external_bytes", minExternalBytes);
        ArrayNode tl = w.putArray("tensors");
        tensors.values().forEach(tl::add);
        if (tokenizer != null) root.put("tokenizer", BundleFormat.TOKENIZER); else root.putNull("tokenizer");
        root.set("graphs", graphs);

        ArrayNode files = root.putArray("files");
        List<String> rels = new ArrayList<>();
        for (JsonNode g : graphs) rels.add(g.get("file").asText());
        rels.add(BundleFormat.WEIGHTS);
        if (tokenizer != null) rels.add(BundleFormat.TOKENIZER);
        long total = 0;
        for (String rel : rels) {
            Path p = tmp.resolve(rel);
            long size = Files.size(p);
            total += size;
            files.addObject().put("path", rel).put("size", size).put("sha256", BundleFormat.sha256(p));
        }
        root.putObject("totals").put("files", rels.size()).put("bytes", total);
        ObjectNode prov = provenance.toJson(m);
        prov.put("tool", toolVersion);
        prov.put("created_utc", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        root.set("provenance", prov);
        // the manifest goes last: a directory without one is never taken for a bundle
        Files.write(tmp.resolve(BundleFormat.MANIFEST), m.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(root));
        stats[0] = total;
        stats[1] = params;
        return root;
    }

    private Graph build(String purpose, int chunk) {
        switch (purpose) {
            case BundleFormat.FORWARD: return ForwardGraphs.forward(spec, weights, chunk, options);
            case BundleFormat.LOSS: return ForwardGraphs.loss(spec, weights, chunk, options);
            case BundleFormat.START:
                return spec.variant == Variant.CAT_LAYER ? LayerDecodeGraphs.start(spec, weights, options) : DecodeGraphs.start(spec, weights, chunk, options);
            case BundleFormat.COMPRESS: return DecodeGraphs.compress(spec, weights, chunk, options);
            case BundleFormat.SUMMARIES: return DecodeGraphs.summaries(spec, weights, chunk, options);
            case BundleFormat.TOKENS:
                return spec.variant == Variant.CAT_LAYER ? LayerDecodeGraphs.tokens(spec, weights, options) : DecodeGraphs.tokens(spec, weights, chunk, options);
            case BundleFormat.CHUNK_END: return LayerDecodeGraphs.chunkEnd(spec, weights, options);
            case BundleFormat.STEP: return DecodeGraphs.denseStep(spec, weights, options);
            case BundleFormat.FIXED_STEP:
                return spec.variant == Variant.TRANSFORMER ? FixedStepGraphs.denseStep(spec, weights, fixedStepBatch, options)
                        : FixedStepGraphs.catStep(spec, weights, chunk, fixedStepBatch, options);
            case BundleFormat.FIXED_COMPRESS: return FixedStepGraphs.catCompress(spec, weights, chunk, fixedStepBatch, options);
            case BundleFormat.GENERATE:
                return spec.variant == Variant.TRANSFORMER ? GenerationLoopGraphs.dense(spec, weights, options)
                        : GenerationLoopGraphs.cat(spec, weights, chunk, options);
            default: throw new AssertionError(purpose);
        }
    }

    static ArrayNode io(ObjectMapper m, List<Value> values) {
        ArrayNode a = m.createArrayNode();
        for (Value v : values) {
            ObjectNode o = a.addObject().put("name", v.name()).put("type", BundleFormat.typeName(v.type()));
            if (!v.shape().hasRank()) {
                o.putNull("shape");
                continue;
            }
            ArrayNode s = o.putArray("shape");
            for (Dim d : v.shape().dims()) {
                if (d.isStatic()) s.add(d.size());
                else if (d.isSymbol()) s.add(d.symbol());
                else s.addNull();
            }
        }
        return a;
    }

}
