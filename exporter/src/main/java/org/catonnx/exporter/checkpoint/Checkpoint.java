package org.catonnx.exporter.checkpoint;

import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.nn.GraphOptions;
import org.catonnx.models.ModelSpec;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.TensorData;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** A safetensors checkpoint with the reference's parameter names, as a WeightSource. */
public final class Checkpoint implements WeightSource, AutoCloseable {
    private final SafetensorsFile file;

    private Checkpoint(SafetensorsFile file) {
        this.file = file;
    }

    public static Checkpoint open(Path path) throws IOException {
        return new Checkpoint(SafetensorsFile.open(path));
    }

    public Path path() { return file.path(); }

    /**
     * Checks the checkpoint holds exactly the model's parameters: building the model's graph names
     * a missing or mis-shaped tensor; tensors the model never asks for are named here.
     */
    public void requireExactly(ModelSpec spec) {
        int chunk = spec.isCat() ? spec.chunkSize() : 0;
        Graph g = ForwardGraphs.forward(spec, this, chunk, GraphOptions.defaults());
        Set<String> used = new TreeSet<>();
        for (Graph.Initializer i : g.initializers().values()) if (i.trainable) used.add(i.value.name());
        List<String> extra = new ArrayList<>();
        for (String n : names()) if (!used.contains(n)) extra.add(n);
        if (!extra.isEmpty()) {
            throw new IllegalArgumentException(file.path().getFileName() + " has " + extra.size() + " tensor(s) the " + spec.variant.id
                    + " model does not use: " + (extra.size() > 10 ? extra.subList(0, 10) + " ..." : extra));
        }
    }
    public List<String> names() { return file.names(); }

    @Override
    public TensorData tensor(String name) {
        if (!file.contains(name)) {
            throw new MissingWeightException(name + "' (in " + file.path().getFileName() + ")");
        }
        try {
            return file.tensor(name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
