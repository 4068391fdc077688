package org.catonnx.exporter.checkpoint;

import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.TensorData;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

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
