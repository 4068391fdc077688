package org.catonnx.exporter.checkpoint;

import java.io.IOException;
import java.nio.file.Path;

/** A checkpoint file that is malformed or that this reader cannot represent. The message starts with the file name. */
public class CheckpointFormatException extends IOException {
    private final Path file;

    public CheckpointFormatException(Path file, String problem) {
        this(file, problem, null);
    }

    public CheckpointFormatException(Path file, String problem, Throwable cause) {
        super(file.getFileName() + ": " + problem, cause);
        this.file = file;
    }

    public Path file() { return file; }
}
