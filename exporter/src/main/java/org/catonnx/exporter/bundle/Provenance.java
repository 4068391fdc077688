package org.catonnx.exporter.bundle;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Path;

/** Where a bundle's weights came from: a checkpoint file (by SHA-256) or a preset with a seed. */
public final class Provenance {
    private final String source;
    private final String checkpointFile;
    private final String checkpointSha256;
    private final String preset;
    private final Long seed;

    private Provenance(String source, String checkpointFile, String checkpointSha256, String preset, Long seed) {
        this.source = source;
        this.checkpointFile = checkpointFile;
        this.checkpointSha256 = checkpointSha256;
        this.preset = preset;
        this.seed = seed;
    }

    /** Hashes the checkpoint file (its bytes as given, not the tensors). */
    public static Provenance checkpoint(Path file) throws IOException {
        return new Provenance("checkpoint", file.getFileName().toString(), BundleFormat.sha256(file), null, null);
    }

    public static Provenance preset(String name, long seed) {
        return new Provenance("preset", null, null, name, seed);
    }

    /** Weights from somewhere else (e.g. in memory); only recorded as such. */
    public static Provenance other(String description) {
        return new Provenance("other", null, null, description, null);
    }

    public String source() { return source; }
    public String checkpointSha256() { return checkpointSha256; }
    public String preset() { return preset; }
    public Long seed() { return seed; }

    ObjectNode toJson(ObjectMapper m) {
        ObjectNode o = m.createObjectNode().put("source", source);
        if (checkpointFile != null) o.put("checkpoint_file", checkpointFile);
        if (checkpointSha256 != null) o.put("checkpoint_sha256", checkpointSha256);
        if (preset != null) o.put(source.equals("preset") ? "preset" : "description", preset);
        if (seed != null) o.put("seed", seed);
        return o;
    }
}
