package org.catonnx.onnx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * One ONNX external-data file shared by any number of graphs: each initializer is written
 * once (by name) at an aligned offset, and graphs reference it by (location, offset, length).
 * Protobuf cannot hold more than 2 GB, so large models must keep their weights here.
 */
public final class ExternalData implements AutoCloseable {
    /** Where one tensor lives in the data file. */
    public static final class Ref {
        public final String location;
        public final long offset;
        public final long length;

        Ref(String location, long offset, long length) {
            this.location = location;
            this.offset = offset;
            this.length = length;
        }
    }

    /** Page alignment lets ONNX Runtime memory-map large tensors directly. */
    static final long PAGE = 4096;
    static final long SMALL_ALIGN = 64;

    private final Path file;
    private final String location;
    private final FileChannel channel;
    private final Map<String, Ref> refs = new HashMap<>();
    private final Map<String, TensorData> written = new HashMap<>();
    private long end;

    /** @param location the file name graphs record, relative to the model file's directory */
    public ExternalData(Path file, String location) throws IOException {
        this.file = file;
        this.location = location;
        this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
    }

    public Path file() { return file; }

    /** Writes the tensor unless a tensor of that name is already in the file (it must be the same one). */
    public Ref put(String name, TensorData data) throws IOException {
        Ref r = refs.get(name);
        if (r != null) {
            TensorData prev = written.get(name);
            if (prev != data && !prev.bytes().equals(data.bytes())) {
                throw new GraphBuildException("external data: two different tensors named '" + name + "'");
            }
            return r;
        }
        long align = data.byteSize() >= 16 * 1024 ? PAGE : SMALL_ALIGN;
        long off = (end + align - 1) / align * align;
        ByteBuffer b = data.bytes();
        long pos = off;
        while (b.hasRemaining()) pos += channel.write(b, pos);
        end = pos;
        r = new Ref(location, off, data.byteSize());
        refs.put(name, r);
        written.put(name, data);
        return r;
    }

    public Ref ref(String name) { return refs.get(name); }

    public long size() { return end; }

    @Override
    public void close() throws IOException {
        channel.force(true);
        channel.close();
    }
}
