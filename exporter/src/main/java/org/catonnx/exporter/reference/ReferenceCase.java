package org.catonnx.exporter.reference;

import org.catonnx.exporter.checkpoint.Checkpoint;
import org.catonnx.exporter.checkpoint.SafetensorsFile;
import org.catonnx.models.ModelSpec;
import org.catonnx.onnx.TensorData;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A directory of reference tensors in the golden format: config.json (variant + configs),
 * weights.safetensors (reference names) and io.safetensors (inputs and expected outputs).
 */
public final class ReferenceCase implements AutoCloseable {
    private final Path dir;
    private final ModelSpec spec;
    private final Checkpoint weights;
    private final SafetensorsFile io;

    private ReferenceCase(Path dir, ModelSpec spec, Checkpoint weights, SafetensorsFile io) {
        this.dir = dir;
        this.spec = spec;
        this.weights = weights;
        this.io = io;
    }

    public static ReferenceCase open(Path dir) throws IOException {
        for (String f : List.of("config.json", "weights.safetensors", "io.safetensors")) {
            if (!Files.isRegularFile(dir.resolve(f))) {
                throw new IOException(dir + ": missing " + f + " (a reference directory holds config.json, weights.safetensors and io.safetensors)");
            }
        }
        ModelSpec spec = ModelSpec.load(dir.resolve("config.json"));
        Checkpoint w = Checkpoint.open(dir.resolve("weights.safetensors"));
        try {
            return new ReferenceCase(dir, spec, w, SafetensorsFile.open(dir.resolve("io.safetensors")));
        } catch (IOException | RuntimeException e) {
            w.close();
            throw e;
        }
    }

    public Path dir() { return dir; }
    public String name() { return dir.getFileName().toString(); }
    public ModelSpec spec() { return spec; }
    public Checkpoint weights() { return weights; }
    public List<String> ioNames() { return io.names(); }

    public Optional<TensorData> io(String name) throws IOException {
        return io.contains(name) ? Optional.of(io.tensor(name)) : Optional.empty();
    }

    public TensorData require(String name) throws IOException {
        return io(name).orElseThrow(() -> new IOException(dir.resolve("io.safetensors") + " has no tensor '" + name + "'"));
    }

    @Override
    public void close() throws IOException {
        try {
            weights.close();
        } finally {
            io.close();
        }
    }
}
