package org.catonnx.exporter.bundle;

import ai.onnx.proto.OnnxMl;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.catonnx.exporter.io.AtomicFiles;
import org.catonnx.nn.GraphOptions;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Variant;
import org.catonnx.nn.AttentionForm;
import org.catonnx.onnx.DType;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.catonnx.exporter.bundle.BundleException.Kind.*;

/**
 * A model bundle, opened and verified before anything in it is used: the format version is
 * known, every path stays inside the bundle, every listed file is present with the manifest's
 * size and SHA-256, no unlisted graph lies beside them, and every graph's external data points
 * only into the bundle's weights file. An archive (.cat/.zip) is first extracted, safely, to a
 * temporary directory that {@link #close()} deletes.
 */
public final class Bundle implements AutoCloseable {
    /** Manifests larger than this are refused unread. */
    public static final long MAX_MANIFEST_BYTES = 64L << 20;

    /** One graph of the bundle, as the manifest describes it. */
    public record GraphEntry(String file, String purpose, int chunkSize, Path path, boolean customOps, long size, JsonNode json) {}

    private final Path dir;
    private final Path extracted;
    private final JsonNode manifest;
    private final ModelSpec spec;
    private final int[] chunkSizes;
    private final List<GraphEntry> graphs;
    private final Map<String, Long> fileSizes;
    private final List<String> warnings;

    private Bundle(Path dir, Path extracted, JsonNode manifest, ModelSpec spec, int[] chunkSizes, List<GraphEntry> graphs,
                   Map<String, Long> fileSizes, List<String> warnings) {
        this.dir = dir;
        this.extracted = extracted;
        this.manifest = manifest;
        this.spec = spec;
        this.chunkSizes = chunkSizes;
        this.graphs = graphs;
        this.fileSizes = fileSizes;
        this.warnings = warnings;
    }

    /** Opens a bundle directory or a .cat/.zip archive with the default archive limits. */
    public static Bundle open(Path path) throws IOException {
        return open(path, BundleArchive.Limits.defaults());
    }

    public static Bundle open(Path path, BundleArchive.Limits limits) throws IOException {
        if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) return verify(path.toAbsolutePath().normalize(), null);
        if (Files.isDirectory(path)) throw new BundleException(UNSAFE_PATH, path.toString(), "the bundle directory is a symbolic link");
        if (!Files.exists(path)) throw new BundleException(MISSING, path.toString(), "no such bundle directory or archive");
        if (!BundleFormat.isArchiveName(path)) {
            throw new BundleException(MANIFEST, path.toString(), "not a bundle: give a bundle directory or a .cat/.zip archive");
        }
        // the pid in the name tells whose extraction a leftover is (a process killed while opening one)
        Path tmp = Files.createTempDirectory("cat-bundle-" + ProcessHandle.current().pid() + "-");
        try {
            BundleArchive.extract(path, tmp, limits);
            return verify(tmp, tmp);
        } catch (Throwable e) {
            AtomicFiles.deleteRecursively(tmp);
            throw e;
        }
    }

    private static Bundle verify(Path dir, Path extracted) throws IOException {
        JsonNode m = readManifest(dir);
        String format = text(m, "format");
        if (!BundleFormat.FORMAT.equals(format)) {
            throw new BundleException(FORMAT, BundleFormat.MANIFEST, "unknown format version '" + format + "' (this reader understands "
                    + BundleFormat.FORMAT + ")");
        }
        // 1. paths, presence and sizes (cheap) for every listed file
        JsonNode files = array(m, "files");
        Map<String, Long> sizes = new LinkedHashMap<>();
        Map<String, String> hashes = new LinkedHashMap<>();
        for (JsonNode f : files) {
            String rel = text(f, "path");
            Path p = BundleFormat.resolveInside(dir, rel);
            if (rel.equals(BundleFormat.MANIFEST)) throw new BundleException(MANIFEST, rel, "the manifest must not list itself");
            if (sizes.containsKey(rel)) throw new BundleException(MANIFEST, rel, "listed twice in manifest.json");
            long size = number(f, "size");
            String sha = text(f, "sha256");
            if (!sha.matches("[0-9a-f]{64}")) throw new BundleException(MANIFEST, rel, "sha256 is not 64 lower-case hex digits");
            noLinks(dir, rel);
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) throw new BundleException(MISSING, rel, "listed in manifest.json but missing");
            if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) throw new BundleException(UNEXPECTED_FILE, rel, "not a regular file");
            long actual = Files.size(p);
            if (actual != size) {
                throw new BundleException(SIZE, rel, "size " + actual + " bytes, manifest.json says " + size + " (truncated or modified)");
            }
            sizes.put(rel, size);
            hashes.put(rel, sha);
        }
        // 2. nothing unlisted that could be taken for part of the model
        List<String> warnings = new ArrayList<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted().collect(Collectors.toList())) {
                if (p.equals(dir)) continue;
                String rel = dir.relativize(p).toString().replace('\\', '/');
                if (Files.isSymbolicLink(p)) throw new BundleException(UNEXPECTED_FILE, rel, "symbolic links are not allowed in a bundle");
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) || rel.equals(BundleFormat.MANIFEST) || sizes.containsKey(rel)) continue;
                if (rel.toLowerCase(java.util.Locale.ROOT).endsWith(".onnx")) {
                    throw new BundleException(UNEXPECTED_FILE, rel, "graph not listed in manifest.json");
                }
                if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) throw new BundleException(UNEXPECTED_FILE, rel, "not a regular file");
                warnings.add(rel + ": not listed in manifest.json (ignored)");
            }
        }
        // 3. contents
        for (Map.Entry<String, String> e : hashes.entrySet()) {
            String actual = BundleFormat.sha256(dir.resolve(e.getKey()));
            if (!actual.equals(e.getValue())) {
                throw new BundleException(CHECKSUM, e.getKey(), "SHA-256 mismatch (file is corrupt or was modified): expected "
                        + e.getValue() + ", found " + actual);
            }
        }
        // 4. model description
        JsonNode model = object(m, "model");
        ModelSpec spec;
        try {
            spec = ModelSpec.fromJson(object(model, "config"));
        } catch (IllegalArgumentException e) {
            throw new BundleException(MANIFEST, BundleFormat.MANIFEST, "model config: " + e.getMessage(), e);
        }
        int[] chunks = intArray(m, "chunk_sizes");
        int[] offered = spec.chunkSizes();
        for (int c : chunks) {
            if (Arrays.stream(offered).noneMatch(o -> o == c)) {
                throw new BundleException(MANIFEST, BundleFormat.MANIFEST, "chunk size " + c + " is not one the model offers " + Arrays.toString(offered));
            }
        }
        String weightsRel = text(object(m, "weights"), "file");
        BundleFormat.resolveInside(dir, weightsRel);
        if (!sizes.containsKey(weightsRel)) throw new BundleException(MANIFEST, weightsRel, "weights file is not listed under files");
        JsonNode tok = m.get("tokenizer");
        if (tok != null && !tok.isNull()) {
            BundleFormat.resolveInside(dir, tok.asText());
            if (!sizes.containsKey(tok.asText())) throw new BundleException(MANIFEST, tok.asText(), "tokenizer is not listed under files");
        }
        parsePrecision(m);
        parseAttention(m);
        // 5. graphs
        List<GraphEntry> graphs = new ArrayList<>();
        Path weights = dir.resolve(weightsRel).normalize();
        for (JsonNode g : array(m, "graphs")) {
            String rel = text(g, "file");
            Path p = BundleFormat.resolveInside(dir, rel);
            if (!sizes.containsKey(rel)) throw new BundleException(MANIFEST, rel, "graph is not listed under files");
            String purpose = text(g, "purpose");
            // a purpose added later within format 1 is listed and verified like any graph, but not known to this reader
            if (!BundleFormat.PURPOSES.contains(purpose)) warnings.add(rel + ": graph purpose '" + purpose + "' is not known to this reader (ignored)");
            int chunk = (int) number(g, "chunk_size");
            if (spec.variant == Variant.TRANSFORMER ? chunk != 0 : Arrays.stream(chunks).noneMatch(c -> c == chunk)) {
                throw new BundleException(MANIFEST, rel, "chunk size " + chunk + " is not among the bundle's chunk_sizes " + Arrays.toString(chunks));
            }
            for (GraphEntry o : graphs) {
                if (o.purpose.equals(purpose) && o.chunkSize == chunk) throw new BundleException(MANIFEST, rel, "a second " + purpose + " graph for chunk " + chunk);
            }
            checkExternalData(rel, p, weights, sizes.get(weightsRel));
            JsonNode custom = g.get("custom_ops");
            graphs.add(new GraphEntry(rel, purpose, chunk, p, custom != null && custom.asBoolean(), sizes.get(rel), g));
        }
        return new Bundle(dir, extracted, m, spec, chunks, Collections.unmodifiableList(graphs), Collections.unmodifiableMap(sizes),
                Collections.unmodifiableList(warnings));
    }

    /** Every external-data reference of a graph must be the bundle's weights file, within its bounds. */
    private static void checkExternalData(String rel, Path graph, Path weights, long weightsSize) throws BundleException {
        OnnxMl.ModelProto proto;
        try (InputStream in = Files.newInputStream(graph)) {
            proto = OnnxMl.ModelProto.parseFrom(in);
        } catch (IOException e) {
            throw new BundleException(GRAPH, rel, "not a valid ONNX model: " + e.getMessage(), e);
        }
        checkGraph(rel, proto.getGraph(), graph.getParent(), weights, weightsSize);
    }

    private static void checkGraph(String rel, OnnxMl.GraphProto g, Path graphDir, Path weights, long weightsSize) throws BundleException {
        for (OnnxMl.TensorProto t : g.getInitializerList()) checkTensor(rel, t, graphDir, weights, weightsSize);
        for (OnnxMl.NodeProto n : g.getNodeList()) {
            for (OnnxMl.AttributeProto a : n.getAttributeList()) {
                if (a.hasT()) checkTensor(rel, a.getT(), graphDir, weights, weightsSize);
                if (a.hasG()) checkGraph(rel, a.getG(), graphDir, weights, weightsSize);
                for (OnnxMl.GraphProto sub : a.getGraphsList()) checkGraph(rel, sub, graphDir, weights, weightsSize);
            }
        }
    }

    private static void checkTensor(String rel, OnnxMl.TensorProto t, Path graphDir, Path weights, long weightsSize) throws BundleException {
        if (t.getDataLocation() != OnnxMl.TensorProto.DataLocation.EXTERNAL) return;
        String location = null;
        long offset = 0, length = -1;
        for (OnnxMl.StringStringEntryProto e : t.getExternalDataList()) {
            try {
                switch (e.getKey()) {
                    case "location": location = e.getValue(); break;
                    case "offset": offset = Long.parseLong(e.getValue()); break;
                    case "length": length = Long.parseLong(e.getValue()); break;
                    default: break;
                }
            } catch (NumberFormatException x) {
                throw new BundleException(GRAPH, rel, "tensor '" + t.getName() + "': bad external data " + e.getKey());
            }
        }
        String why = location == null ? "no location" : BundleFormat.unsafeReason(location);
        if (why != null || !graphDir.resolve(location).normalize().equals(weights)) {
            throw new BundleException(UNSAFE_PATH, rel, "tensor '" + t.getName() + "' refers to external data '" + location
                    + "' instead of the bundle's weights file" + (why != null ? " (" + why + ")" : ""));
        }
        if (offset < 0 || length < 0 || offset > weightsSize || length > weightsSize - offset) {
            throw new BundleException(GRAPH, rel, "tensor '" + t.getName() + "' lies outside the weights file (offset " + offset + ", length " + length + ")");
        }
    }

    private static void noLinks(Path dir, String rel) throws BundleException {
        Path p = dir;
        for (String seg : rel.split("/")) {
            p = p.resolve(seg);
            if (Files.isSymbolicLink(p)) throw new BundleException(UNSAFE_PATH, rel, "goes through a symbolic link");
        }
    }

    private static JsonNode readManifest(Path dir) throws BundleException {
        Path p = dir.resolve(BundleFormat.MANIFEST);
        try {
            if (Files.isSymbolicLink(p)) throw new BundleException(UNSAFE_PATH, BundleFormat.MANIFEST, "is a symbolic link");
            if (!Files.isRegularFile(p)) throw new BundleException(MISSING, BundleFormat.MANIFEST, "missing: " + dir + " is not a bundle");
            if (Files.size(p) > MAX_MANIFEST_BYTES) throw new BundleException(MANIFEST, BundleFormat.MANIFEST, "larger than " + MAX_MANIFEST_BYTES + " bytes");
            JsonNode m = new ObjectMapper().readTree(p.toFile());
            if (m == null || !m.isObject()) throw new BundleException(MANIFEST, BundleFormat.MANIFEST, "not a JSON object");
            return m;
        } catch (BundleException e) {
            throw e;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new BundleException(MANIFEST, BundleFormat.MANIFEST, "not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new BundleException(MANIFEST, BundleFormat.MANIFEST, "cannot be read: " + e.getMessage(), e);
        }
    }

    private static JsonNode field(JsonNode o, String name) throws BundleException {
        JsonNode v = o == null ? null : o.get(name);
        if (v == null || v.isNull()) throw new BundleException(MANIFEST, BundleFormat.MANIFEST, "field \"" + name + "\" is missing");
        return v;
    }

    private static String text(JsonNode o, String name) throws BundleException {
        JsonNode v = field(o, name);
        if (!v.isTextual()) throw new BundleException(MANIFEST, BundleFormat.MANIFEST, "field \"" + name + "\" must be a string");
        return v.asText();
    }

    private static long number(JsonNode o, String name) throws BundleException {
        JsonNode v = field(o, name);
        if (!v.isIntegralNumber() || v.asLong() < 0) throw new BundleException(MANIFEST, BundleFormat.MANIFEST, "field \"" + name + "\" must be a non-negative integer");
        return v.asLong();
    }

    private static JsonNode array(JsonNode o, String name) throws BundleException {
        JsonNode v = field(o, name);
        if (!v.isArray()) throw new BundleException(MANIFEST, BundleFormat.MANIFEST, "field \"" + name + "\" must be an array");
        return v;
    }

    private static JsonNode object(JsonNode o, String name) throws BundleException {
        JsonNode v = field(o, name);
        if (!v.isObject()) throw new BundleException(MANIFEST, BundleFormat.MANIFEST, "field \"" + name + "\" must be an object");
        return v;
    }

    private static int[] intArray(JsonNode o, String name) throws BundleException {
        JsonNode a = array(o, name);
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) {
            if (!a.get(i).canConvertToInt() || a.get(i).asInt() < 1) {
                throw new BundleException(MANIFEST, BundleFormat.MANIFEST, "\"" + name + "\" must hold positive integers");
            }
            r[i] = a.get(i).asInt();
        }
        return r;
    }

    private static DType parsePrecision(JsonNode m) throws BundleException {
        String p = text(m, "precision");
        try {
            DType t = BundleFormat.parseTypeName(p);
            if (!t.isFloating()) throw new IllegalArgumentException(p);
            return t;
        } catch (IllegalArgumentException e) {
            throw new BundleException(MANIFEST, BundleFormat.MANIFEST, "unknown precision '" + p + "'");
        }
    }

    private static AttentionForm parseAttention(JsonNode m) throws BundleException {
        String a = text(m, "attention");
        try {
            return AttentionForm.valueOf(a.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new BundleException(MANIFEST, BundleFormat.MANIFEST, "unknown attention form '" + a + "'");
        }
    }

    // ------------------------------------------------------------------ accessors

    /** The verified bundle directory (for an archive: the temporary extraction). */
    public Path dir() { return dir; }

    /** True when opened from an archive (the directory is temporary). */
    public boolean fromArchive() { return extracted != null; }

    public JsonNode manifest() { return manifest; }

    public String format() { return manifest.get("format").asText(); }

    public ModelSpec spec() { return spec; }

    /** Chunk sizes the bundle offers; empty for a dense model (whose graphs have chunk size 0). */
    public int[] chunkSizes() { return chunkSizes.clone(); }

    public List<GraphEntry> graphs() { return graphs; }

    public Optional<GraphEntry> find(String purpose, int chunk) {
        return graphs.stream().filter(g -> g.purpose.equals(purpose) && g.chunkSize == chunk).findFirst();
    }

    /**
     * The graph file for a purpose and chunk size (0 = the default: the model's own chunk size if
     * offered, else the largest offered; always 0 for dense models).
     * @throws IllegalArgumentException naming the chunk sizes and purposes offered
     */
    public Path graph(String purpose, int chunk) {
        int c = resolveChunk(chunk);
        return find(purpose, c).orElseThrow(() -> new IllegalArgumentException("bundle has no " + purpose + " graph"
                + (c > 0 ? " for chunk size " + c : "") + " (graphs: " + graphs.stream().map(g -> g.purpose
                + (g.chunkSize > 0 ? "@" + g.chunkSize : "")).collect(Collectors.joining(", ")) + ")")).path;
    }

    /** Maps 0 to the default chunk size and refuses a chunk size the bundle does not offer. */
    public int resolveChunk(int chunk) {
        if (spec.variant == Variant.TRANSFORMER) {
            if (chunk != 0) throw new IllegalArgumentException("a dense model has no chunk size (got " + chunk + "); use 0");
            return 0;
        }
        if (chunk == 0) {
            int own = spec.chunkSize();
            return Arrays.stream(chunkSizes).anyMatch(c -> c == own) ? own : Arrays.stream(chunkSizes).max().orElse(own);
        }
        if (Arrays.stream(chunkSizes).noneMatch(c -> c == chunk)) {
            throw new IllegalArgumentException("chunk size " + chunk + " is not in this bundle; it offers " + Arrays.toString(chunkSizes));
        }
        return chunk;
    }

    public Optional<Path> tokenizer() {
        JsonNode t = manifest.get("tokenizer");
        return t == null || t.isNull() ? Optional.empty() : Optional.of(dir.resolve(t.asText()));
    }

    public Path weights() { return dir.resolve(manifest.get("weights").get("file").asText()); }

    public DType precision() {
        return BundleFormat.parseTypeName(manifest.get("precision").asText());
    }

    public AttentionForm attentionForm() {
        return AttentionForm.valueOf(manifest.get("attention").asText().toUpperCase(java.util.Locale.ROOT));
    }

    /** The options the graphs were built with. */
    public GraphOptions graphOptions() { return new GraphOptions(precision(), attentionForm()); }

    public boolean usesCustomOps() { return graphs.stream().anyMatch(GraphEntry::customOps); }

    public long parameterCount() {
        JsonNode n = manifest.get("model").get("parameter_count");
        return n == null ? -1 : n.asLong();
    }

    /** Sizes of the listed files, by relative path. */
    public Map<String, Long> fileSizes() { return fileSizes; }

    /** Bytes of all listed files (the manifest itself excluded). */
    public long totalBytes() { return fileSizes.values().stream().mapToLong(Long::longValue).sum(); }

    public long weightsBytes() { return fileSizes.get(manifest.get("weights").get("file").asText()); }

    /** Things tolerated but worth telling (unlisted non-graph files). */
    public List<String> warnings() { return warnings; }

    @Override
    public void close() throws IOException {
        if (extracted != null) AtomicFiles.deleteRecursively(extracted);
    }
}
