package org.catonnx.runtime.bundle;

import org.catonnx.runtime.bound.BoundGenerator;
import org.catonnx.runtime.bound.BoundRuntime;
import org.catonnx.runtime.bound.BoundSession;
import org.catonnx.runtime.CustomOps;
import org.catonnx.exporter.bundle.Bundle;
import org.catonnx.exporter.bundle.BundleFormat;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Variant;
import org.catonnx.runtime.ModelSession;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.SessionConfig;
import org.catonnx.runtime.generate.DecodeSessions;
import org.catonnx.runtime.generate.Generator;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Opens ONNX Runtime sessions on a verified {@link Bundle}'s graphs. Sessions load from the
 * graph files so their weights come from the bundle's shared external-data file. The caller
 * owns every session returned; closing the BundleModel closes the bundle (and deletes an
 * archive's temporary extraction), so close sessions first.
 *
 * <p>Chunk size 0 means the default (see {@link Bundle#resolveChunk}); a chunk size the bundle
 * does not offer is refused with a message listing the offered ones.
 */
public final class BundleModel implements AutoCloseable {
    private final Bundle bundle;
    private final SessionConfig config;

    public BundleModel(Bundle bundle, SessionConfig config) {
        config.requireSupports(bundle.precision());
        this.bundle = bundle;
        // graphs with our CatAttention op get the library shipped in the runtime jar (clear error if not built)
        this.config = CustomOps.registerIfNeeded(config, bundle.usesCustomOps());
    }

    /** Opens and verifies a bundle directory or archive. */
    public static BundleModel open(Path path, SessionConfig config) throws IOException {
        Bundle b = Bundle.open(path);
        try {
            return new BundleModel(b, config);
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
    }

    public Bundle bundle() { return bundle; }
    public ModelSpec spec() { return bundle.spec(); }
    public SessionConfig sessionConfig() { return config; }

    /** The forward graph (input_ids -> logits). */
    public ModelSession forward(int chunk) {
        return session(BundleFormat.FORWARD, chunk);
    }

    /** The loss graph (input_ids, labels -> loss). */
    public ModelSession loss(int chunk) {
        return session(BundleFormat.LOSS, chunk);
    }

    /** Any graph of the bundle by purpose. */
    public ModelSession session(String purpose, int chunk) {
        return OrtRuntime.get().open(bundle.graph(purpose, checkChunk(chunk)), config);
    }

    /** The decode graphs by the same kinds {@link DecodeSessions#build} uses. */
    public DecodeSessions decodeSessions(int chunk) {
        int c = checkChunk(chunk);
        List<String> kinds = spec().variant == Variant.TRANSFORMER ? BundleFormat.DENSE_DECODE
                : spec().variant == Variant.CAT_LAYER ? BundleFormat.LAYER_DECODE : BundleFormat.CAT_DECODE;
        Map<String, ModelSession> s = new LinkedHashMap<>();
        try {
            for (String k : kinds) {
                // bundles from before the in-graph loop existed have no "generate" graph: step-by-step only
                if (bundle.find(k, c).isPresent()) s.put(k, OrtRuntime.get().open(bundle.graph(k, c), config));
            }
        } catch (RuntimeException e) {
            s.values().forEach(ModelSession::close);
            throw e;
        }
        return new DecodeSessions(s, bundle.graphOptions());
    }

    /** A generator over this bundle's decode graphs; closing it closes its sessions. */
    public Generator generator(int chunk) {
        int c = checkChunk(chunk);
        return new Generator(spec(), c, decodeSessions(c));
    }

    /**
     * Greedy bound generation (device-resident caches, CUDA graphs with {@code so.cudaGraph()})
     * over this bundle's fixed-shape step graphs, for the batch they were exported for (export
     * {@code --fixed-step-batch}). The chunk size resolves as for {@link #generator}.
     * @throws IllegalArgumentException when the bundle has no fixed-shape step graphs
     */
    public BoundGenerator boundGenerator(BoundRuntime rt, int chunk, BoundSession.Options so) {
        int c = checkChunk(chunk);
        Bundle.GraphEntry step = bundle.find(BundleFormat.FIXED_STEP, c).orElseThrow(() -> new IllegalArgumentException(
                "this bundle has no fixed-shape step graphs" + (c > 0 ? " for chunk size " + c : "")
                        + "; export it with --fixed-step-batch N for bound generation"));
        Path compress = spec().variant == Variant.TRANSFORMER ? null : bundle.graph(BundleFormat.FIXED_COMPRESS, c);
        int batch = step.json().path("batch").asInt(0);
        if (batch < 1) throw new IllegalArgumentException(step.file() + ": manifest lacks the graph's batch");
        return BoundGenerator.open(rt, spec(), c, batch, bundle.precision(), step.path(), compress, bundle.usesCustomOps(), so);
    }

    /** Resolves 0 to the default chunk and refuses one the bundle does not offer. */
    public int checkChunk(int chunk) {
        if (spec().variant != Variant.TRANSFORMER && chunk != 0 && Arrays.stream(bundle.chunkSizes()).noneMatch(x -> x == chunk)) {
            throw new IllegalArgumentException("chunk size " + chunk + " is not in this bundle; it offers " + Arrays.toString(bundle.chunkSizes()));
        }
        return bundle.resolveChunk(chunk);
    }

    @Override
    public void close() throws IOException {
        bundle.close();
    }
}
