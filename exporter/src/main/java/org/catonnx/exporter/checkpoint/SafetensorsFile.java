package org.catonnx.exporter.checkpoint;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.TensorData;

/**
 * A read-only view of a .safetensors file: an 8-byte little-endian header length, a JSON header and the raw tensor
 * data. The header is validated completely on open; tensors are zero-copy slices of memory mappings of the file.
 * Files over 2 GiB are mapped in windows of at most 2 GiB, so only a single tensor of 2 GiB or more is unreadable.
 */
public final class SafetensorsFile implements AutoCloseable {
    public static final long MAX_HEADER_BYTES = 100L << 20;
    public static final int MAX_TENSORS = 1_000_000;
    public static final int MAX_RANK = 64;
    private static final long MAX_MAPPING = Integer.MAX_VALUE;
    private static final JsonFactory JSON = JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    /** One header entry. {@code begin}/{@code end} are byte offsets relative to the start of the data section. */
    public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {
        public TensorInfo {
            shape = shape.clone();
        }

        @Override
        public long[] shape() { return shape.clone(); }

        public long byteSize() { return end - begin; }

        @Override
        public String toString() { return name + ": " + describe(dtype, shape) + " @ [" + begin + ", " + end + ")"; }
    }

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> infos;
    private final Map<String, String> metadata;
    private final Map<String, Integer> windowOf = new HashMap<>();
    private final long[] windowBegin;
    private final long[] windowEnd;
    private final ByteBuffer[] windows;
    private boolean closed;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, TensorInfo> infos,
            Map<String, String> metadata, long windowLimit) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.infos = Collections.unmodifiableMap(infos);
        this.metadata = Collections.unmodifiableMap(metadata);
        // Group tensors, in data order, into mapping windows of at most windowLimit bytes.
        List<Long> begins = new ArrayList<>(), ends = new ArrayList<>();
        for (TensorInfo t : sortedByOffset(infos)) {
            if (t.byteSize() > MAX_MAPPING) continue;
            int last = begins.size() - 1;
            if (last >= 0 && t.end() - begins.get(last) <= windowLimit) {
                ends.set(last, Math.max(ends.get(last), t.end()));
            } else {
                begins.add(t.begin());
                ends.add(t.end());
            }
            windowOf.put(t.name(), begins.size() - 1);
        }
        windowBegin = begins.stream().mapToLong(Long::longValue).toArray();
        windowEnd = ends.stream().mapToLong(Long::longValue).toArray();
        windows = new ByteBuffer[windowBegin.length];
    }

    public static SafetensorsFile open(Path path) throws IOException {
        return open(path, MAX_MAPPING);
    }

    /** {@code windowLimit} caps how much of the file one mapping covers (tests use small values). */
    static SafetensorsFile open(Path path, long windowLimit) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            long size = ch.size();
            if (size < 8) throw fail(path, "file is " + size + " bytes, too short for the 8-byte header length");
            long headerLen = readFully(ch, 0, 8, path).order(ByteOrder.LITTLE_ENDIAN).getLong();
            String len = Long.toUnsignedString(headerLen);
            if (headerLen < 0 || headerLen > size - 8) {
                throw fail(path, "header length " + len + " exceeds the file (" + size + " bytes); truncated or not a safetensors file");
            }
            if (headerLen > MAX_HEADER_BYTES) throw fail(path, "header length " + len + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
            if (headerLen < 2) throw fail(path, "header length " + len + " is too small for a JSON object");
            String json;
            try {
                json = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(readFully(ch, 8, (int) headerLen, path)).toString();
            } catch (CharacterCodingException e) {
                throw fail(path, "header is not valid UTF-8");
            }
            long dataStart = 8 + headerLen;
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, TensorInfo> infos = parseHeader(path, json, size - dataStart, metadata);
            checkNoOverlap(path, infos);
            return new SafetensorsFile(path, ch, dataStart, infos, metadata, windowLimit);
        } catch (Throwable e) {
            ch.close();
            throw e;
        }
    }

    public Path path() { return path; }

    /** Tensor names in header order. */
    public List<String> names() { return List.copyOf(infos.keySet()); }

    public boolean contains(String name) { return infos.containsKey(name); }

    public TensorInfo info(String name) {
        TensorInfo t = infos.get(name);
        if (t == null) throw new IllegalArgumentException(path.getFileName() + ": no tensor '" + name + "'");
        return t;
    }

    /** The {@code __metadata__} map (empty if absent). */
    public Map<String, String> metadata() { return metadata; }

    /** Offset of the data section within the file. */
    public long dataStart() { return dataStart; }

    /** The tensor as a zero-copy view of the mapped file; it stays valid after {@link #close()}. */
    public TensorData tensor(String name) throws IOException {
        TensorInfo t = info(name);
        if (t.byteSize() == 0) return new TensorData(t.dtype(), t.shape(), ByteBuffer.allocate(0));
        Integer w = windowOf.get(name);
        if (w == null) {
            throw fail(path, "tensor '" + name + "' is " + t.byteSize() + " bytes; tensors of 2 GiB or more cannot be"
                    + " mapped as one ByteBuffer");
        }
        ByteBuffer window = window(w);
        ByteBuffer slice = window.slice((int) (t.begin() - windowBegin[w]), (int) t.byteSize());
        return new TensorData(t.dtype(), t.shape(), slice);
    }

    private synchronized ByteBuffer window(int w) throws IOException {
        if (closed) throw new IOException(path.getFileName() + ": file is closed");
        if (windows[w] == null) {
            windows[w] = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + windowBegin[w], windowEnd[w] - windowBegin[w]);
        }
        return windows[w];
    }

    /** Releases the file handle. Mapped regions are released by the garbage collector once unreferenced. */
    @Override
    public synchronized void close() throws IOException {
        closed = true;
        channel.close();
    }

    private static Map<String, TensorInfo> parseHeader(Path path, String json, long dataLen, Map<String, String> metadata)
            throws CheckpointFormatException {
        Map<String, TensorInfo> infos = new LinkedHashMap<>();
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw fail(path, "header is not a JSON object");
            boolean sawMetadata = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                if (name.equals("__metadata__")) {
                    sawMetadata = true;
                    readMetadata(path, p, metadata);
                } else {
                    if (name.isEmpty()) throw fail(path, "header has a tensor with an empty name");
                    if (infos.size() >= MAX_TENSORS) throw fail(path, "header has more than " + MAX_TENSORS + " tensors");
                    infos.put(name, readEntry(path, p, name, dataLen));
                }
            }
            if (p.nextToken() != null) throw fail(path, "header has content after the JSON object");
        } catch (CheckpointFormatException e) {
            throw e;
        } catch (JsonProcessingException e) {
            throw fail(path, "header is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw fail(path, "header could not be parsed: " + e.getMessage(), e);
        }
        return infos;
    }

    private static void readMetadata(Path path, JsonParser p, Map<String, String> metadata) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) throw fail(path, "__metadata__ is not a JSON object");
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            if (p.nextToken() != JsonToken.VALUE_STRING) throw fail(path, "__metadata__ value of '" + key + "' is not a string");
            metadata.put(key, p.getText());
        }
    }

    private static TensorInfo readEntry(Path path, JsonParser p, String name, long dataLen) throws IOException {
        String what = "tensor '" + name + "'";
        if (p.currentToken() != JsonToken.START_OBJECT) throw fail(path, what + " is not a JSON object");
        String dtypeName = null;
        long[] shape = null, offsets = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            p.nextToken();
            switch (field) {
                case "dtype":
                    if (p.currentToken() != JsonToken.VALUE_STRING) throw fail(path, what + " dtype is not a string");
                    dtypeName = p.getText();
                    break;
                case "shape":
                    shape = readLongs(path, p, what + " shape", MAX_RANK);
                    break;
                case "data_offsets":
                    offsets = readLongs(path, p, what + " data_offsets", 2);
                    if (offsets.length != 2) throw fail(path, what + " data_offsets must be [begin, end]");
                    break;
                default:
                    throw fail(path, what + " has unexpected field '" + field + "'");
            }
        }
        if (dtypeName == null || shape == null || offsets == null) {
            throw fail(path, what + " lacks " + (dtypeName == null ? "dtype" : shape == null ? "shape" : "data_offsets"));
        }
        DType dtype = dtypeOf(dtypeName);
        if (dtype == null) throw fail(path, what + " has unsupported dtype " + clip(dtypeName) + " (supported: " + supported() + ")");
        long bytes;
        try {
            bytes = Math.multiplyExact(TensorData.numElements(shape), (long) dtype.bytes);
        } catch (ArithmeticException e) {
            throw fail(path, what + " shape " + describe(dtype, shape) + " overflows 64-bit sizes");
        }
        long begin = offsets[0], end = offsets[1];
        String range = "data_offsets [" + begin + ", " + end + "]";
        if (begin > end) throw fail(path, what + " " + range + " has begin after end");
        if (end > dataLen) throw fail(path, what + " " + range + " lie outside the data section (" + dataLen + " bytes)");
        if (end - begin != bytes) {
            throw fail(path, what + " " + range + " do not match " + describe(dtype, shape) + " (" + bytes + " bytes)");
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static long[] readLongs(Path path, JsonParser p, String what, int max) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) throw fail(path, what + " is not an array");
        long[] out = new long[max];
        int n = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (n == max) throw fail(path, what + " has more than " + max + " entries");
            if (p.currentToken() != JsonToken.VALUE_NUMBER_INT) throw fail(path, what + " has a non-integer entry " + clip(p.getText()));
            if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) throw fail(path, what + " entry " + clip(p.getText()) + " is too large");
            long v = p.getLongValue();
            if (v < 0) throw fail(path, what + " has negative entry " + v);
            out[n++] = v;
        }
        return Arrays.copyOf(out, n);
    }

    private static DType dtypeOf(String name) {
        for (DType t : DType.values()) {
            if (t.safetensors.equals(name)) return t;
        }
        return null;
    }

    private static void checkNoOverlap(Path path, Map<String, TensorInfo> infos) throws CheckpointFormatException {
        TensorInfo prev = null;
        for (TensorInfo t : sortedByOffset(infos)) {
            if (t.byteSize() == 0) continue;
            if (prev != null && t.begin() < prev.end()) {
                throw fail(path, "tensors '" + prev.name() + "' [" + prev.begin() + ", " + prev.end() + "] and '" + t.name()
                        + "' [" + t.begin() + ", " + t.end() + "] overlap");
            }
            prev = t;
        }
    }

    private static List<TensorInfo> sortedByOffset(Map<String, TensorInfo> infos) {
        List<TensorInfo> sorted = new ArrayList<>(infos.values());
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        return sorted;
    }

    private static ByteBuffer readFully(FileChannel ch, long position, int length, Path path) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        while (b.hasRemaining()) {
            if (ch.read(b, position + b.position()) < 0) throw fail(path, "unexpected end of file");
        }
        return b.flip();
    }

    /** Quotes a value from the file for a message, shortened so hostile input cannot bloat it. */
    private static String clip(String s) {
        return "'" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "'";
    }

    private static String supported() {
        StringBuilder s = new StringBuilder();
        for (DType t : DType.values()) s.append(s.length() == 0 ? "" : ", ").append(t.safetensors);
        return s.toString();
    }

    static String describe(DType dtype, long[] shape) {
        StringBuilder s = new StringBuilder(dtype.safetensors).append('[');
        for (int i = 0; i < shape.length; i++) s.append(i == 0 ? "" : ",").append(shape[i]);
        return s.append(']').toString();
    }

    private static CheckpointFormatException fail(Path path, String problem) {
        return new CheckpointFormatException(path, problem);
    }

    private static CheckpointFormatException fail(Path path, String problem, Throwable cause) {
        return new CheckpointFormatException(path, problem, cause);
    }
}
