package org.catonnx.exporter.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import org.catonnx.exporter.io.AtomicFiles;
import org.catonnx.onnx.TensorData;

/**
 * Writes tensors as a .safetensors file, in the map's iteration order, atomically (see {@link AtomicFiles}). The
 * header is padded with spaces to a multiple of 8 bytes; tensor data is streamed from the source buffers.
 */
public final class SafetensorsWriter {
    // FileChannel.write copies heap buffers into a temporary direct buffer of the full remaining size; chunking
    // keeps that copy small.
    private static final int CHUNK = 8 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsWriter() {}

    public static void write(Path target, Map<String, TensorData> tensors) throws IOException {
        write(target, tensors, Map.of());
    }

    public static void write(Path target, Map<String, TensorData> tensors, Map<String, String> metadata) throws IOException {
        byte[] header = header(tensors, metadata);
        AtomicFiles.write(target, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(ch, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip());
                writeFully(ch, ByteBuffer.wrap(header));
                for (TensorData t : tensors.values()) writeFully(ch, t.bytes());
            }
        });
    }

    /** The JSON header, padded with spaces to a multiple of 8 bytes. */
    static byte[] header(Map<String, TensorData> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = root.putObject("__metadata__");
            metadata.forEach((k, v) -> {
                if (k == null || v == null) throw new IllegalArgumentException("null metadata key or value for key " + k);
                m.put(k, v);
            });
        }
        long offset = 0;
        for (Map.Entry<String, TensorData> e : tensors.entrySet()) {
            String name = e.getKey();
            TensorData t = e.getValue();
            if (name == null || name.isEmpty() || name.equals("__metadata__")) {
                throw new IllegalArgumentException("invalid tensor name '" + name + "'");
            }
            if (t == null) throw new IllegalArgumentException("tensor '" + name + "' is null");
            ObjectNode entry = root.putObject(name);
            entry.put("dtype", t.type().safetensors);
            ArrayNode shape = entry.putArray("shape");
            for (long d : t.shape()) shape.add(d);
            long end = Math.addExact(offset, t.byteSize());
            entry.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json = JSON.writeValueAsBytes(root);
        if (json.length > SafetensorsFile.MAX_HEADER_BYTES - 8) {
            throw new IllegalArgumentException("safetensors header of " + json.length + " bytes exceeds the reader's limit");
        }
        byte[] padded = Arrays.copyOf(json, (json.length + 7) & ~7);
        Arrays.fill(padded, json.length, padded.length, (byte) ' ');
        return padded;
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        for (int pos = b.position(); pos < b.limit(); pos += CHUNK) {
            ByteBuffer part = b.slice(pos, Math.min(CHUNK, b.limit() - pos));
            while (part.hasRemaining()) ch.write(part);
        }
    }
}
