package org.catonnx.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.catonnx.exporter.bundle.Bundle;
import org.catonnx.models.ModelConfig;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Variant;
import org.catonnx.onnx.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Verify a bundle (directory or .cat archive) and describe it: model config, graphs and sizes, parameter count "
                + "and, per chunk size, the decoding cache's bytes per token. Exit code 3 if the bundle is damaged or unsafe.")
final class InspectCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "BUNDLE", description = "bundle directory or .cat/.zip archive")
    Path bundle;

    @Option(names = "--json", description = "print the description as JSON")
    boolean json;

    @Override
    public Integer call() throws Exception {
        try (Bundle b = Bundle.open(bundle)) {
            ModelSpec spec = b.spec();
            DType precision = b.precision();
            ObjectMapper m = new ObjectMapper();
            ObjectNode root = m.createObjectNode();
            root.put("bundle", bundle.toString()).put("format", b.format()).put("verified", true);
            root.set("config", spec.toJson(m));
            root.put("variant", spec.variant.id).put("precision", typeName(precision)).put("attention", b.attentionForm().name().toLowerCase(Locale.ROOT))
                    .put("custom_ops", b.usesCustomOps()).put("parameters", b.parameterCount())
                    .put("weights_bytes", b.weightsBytes()).put("total_bytes", b.totalBytes());
            ArrayNode cs = root.putArray("chunk_sizes");
            for (int c : b.chunkSizes()) cs.add(c);
            ArrayNode graphs = root.putArray("graphs");
            for (Bundle.GraphEntry g : b.graphs()) {
                ObjectNode gj = graphs.addObject().put("purpose", g.purpose()).put("chunk_size", g.chunkSize()).put("file", g.file())
                        .put("bytes", g.size()).put("custom_ops", g.customOps());
                if (g.json().has("batch")) gj.put("batch", g.json().get("batch").asInt());
            }
            ArrayNode cache = root.putArray("cache");
            int[] chunks = spec.variant == Variant.TRANSFORMER ? new int[] {0} : b.chunkSizes();
            for (int c : chunks) {
                ObjectNode e = cache.addObject().put("chunk_size", c);
                double perToken = cacheBytesPerToken(spec, c, precision.bytes);
                e.put("bytes_per_token", perToken).put("bytes_at_full_context", Math.round(perToken * spec.blockSize()));
            }
            JsonNode prov = b.manifest().get("provenance");
            if (prov != null) root.set("provenance", prov);
            JsonNode ort = b.manifest().get("onnxruntime");
            if (ort != null) root.set("onnxruntime", ort);
            root.put("tokenizer", b.tokenizer().isPresent());
            ArrayNode warn = root.putArray("warnings");
            b.warnings().forEach(warn::add);

            if (json) {
                System.out.println(m.writerWithDefaultPrettyPrinter().writeValueAsString(root));
                return 0;
            }
            System.out.println(bundle + ": " + b.format() + " (verified: every file present, sizes and SHA-256 match)");
            System.out.println("model      " + spec);
            System.out.println("precision  " + typeName(precision) + ", " + b.attentionForm().name().toLowerCase(Locale.ROOT) + " attention"
                    + (b.usesCustomOps() ? ", needs the custom-op library" : ", stock ONNX operators only"));
            System.out.println("parameters " + count(b.parameterCount()) + " (" + b.parameterCount() + ")");
            System.out.println("weights    " + org.catonnx.exporter.bundle.BundleFormat.humanSize(b.weightsBytes()) + "; bundle " + org.catonnx.exporter.bundle.BundleFormat.humanSize(b.totalBytes()) + " in " + b.fileSizes().size() + " files"
                    + (b.tokenizer().isPresent() ? ", with tokenizer" : ""));
            if (prov != null) {
                System.out.println("source     " + (prov.has("checkpoint_sha256") ? "checkpoint " + prov.path("checkpoint_file").asText() + " sha256 " + prov.get("checkpoint_sha256").asText()
                        : prov.has("preset") ? "preset " + prov.get("preset").asText() + " seed " + prov.path("seed").asText() : prov.path("source").asText())
                        + "; " + prov.path("tool").asText() + ", " + prov.path("created_utc").asText()
                        + (ort != null && ort.hasNonNull("version") ? "; ONNX Runtime " + ort.get("version").asText() : ""));
            }
            System.out.println("config     " + m.writeValueAsString(spec.toJson(m)));
            System.out.printf("%-14s %6s  %-32s %10s%n", "graph", "chunk", "file", "size");
            for (Bundle.GraphEntry g : b.graphs()) {
                String batch = g.json().has("batch") ? "  (batch " + g.json().get("batch").asInt() + ")" : "";
                System.out.printf("%-14s %6s  %-32s %10s%s%n", g.purpose(), g.chunkSize() == 0 ? "-" : Integer.toString(g.chunkSize()), g.file(),
                        org.catonnx.exporter.bundle.BundleFormat.humanSize(g.size()), batch);
            }
            System.out.println("decoding cache (" + typeName(precision) + "):");
            for (JsonNode e : cache) {
                String c = e.get("chunk_size").asInt() == 0 ? "dense" : "chunk " + e.get("chunk_size").asInt();
                System.out.println(e.get("bytes_per_token").isNull() ? "  " + c + ": " + e.get("note").asText()
                        : String.format(Locale.ROOT, "  %-9s %10.1f bytes/token, %s at the full context of %d tokens", c,
                        e.get("bytes_per_token").asDouble(), org.catonnx.exporter.bundle.BundleFormat.humanSize(e.get("bytes_at_full_context").asLong()), spec.blockSize()));
            }
            b.warnings().forEach(w -> System.out.println("warning: " + w));
            return 0;
        }
    }

    /** Decoding state per token of context, averaged over a full context (see ModelSpec.cacheBytes). */
    static double cacheBytesPerToken(ModelSpec spec, int chunk, int bytes) {
        int l = chunk == 0 ? spec.chunkSize() : chunk;
        return spec.cacheBytes(l, spec.blockSize(), bytes) / (double) spec.blockSize();
    }

    static String typeName(DType t) {
        return org.catonnx.exporter.bundle.BundleFormat.typeName(t);
    }


    static String count(long n) {
        if (n >= 1_000_000_000) return String.format(Locale.ROOT, "%.2fB", n / 1e9);
        if (n >= 1_000_000) return String.format(Locale.ROOT, "%.2fM", n / 1e6);
        if (n >= 1_000) return String.format(Locale.ROOT, "%.1fK", n / 1e3);
        return Long.toString(n);
    }
}
