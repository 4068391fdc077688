package org.catonnx.runtime.train;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.catonnx.onnx.TensorData;

/**
 * Binary token shards as nanoGPT writes them: flat little-endian uint16 or uint32 token ids, no header, one or more
 * files (a directory means its *.bin files in name order). Files are memory-mapped read-only.
 *
 * <p>Training batches are random contiguous windows of seqLen + 1 tokens inside one shard (shards are picked in
 * proportion to how many windows they hold); input_ids = window[:-1], labels = window[1:]. Evaluation uses fixed,
 * non-overlapping windows in file order ({@link #sequentialBatch}).
 */
public final class TokenShards {
    /** Token width on disk. */
    public enum TokenType {
        UINT16(2), UINT32(4);

        public final int bytes;

        TokenType(int bytes) { this.bytes = bytes; }

        public static TokenType parse(String s) {
            switch (s == null ? "" : s.trim().toLowerCase(Locale.ROOT)) {
                case "uint16": case "u16": return UINT16;
                case "uint32": case "u32": return UINT32;
                default: throw new IllegalArgumentException("unknown token dtype '" + s + "' (allowed: uint16, uint32)");
            }
        }

        public long max() { return this == UINT16 ? 0xFFFFL : 0xFFFFFFFFL; }
    }

    /** A shard that cannot be used, naming the file. */
    public static final class ShardException extends IOException {
        public final Path file;

        public ShardException(Path file, String message) {
            super((file == null ? "token shards" : file.toString()) + ": " + message);
            this.file = file;
        }
    }

    /** One batch of windows: input_ids and labels, both int64 [batch, seqLen]. */
    public record Batch(TensorData inputIds, TensorData labels) {}

    private static final long SEGMENT = 1L << 30; // bytes per mapping (a multiple of 4)

    private static final class Shard {
        final Path path;
        final ByteBuffer[] segments;
        final long tokens;

        Shard(Path path, ByteBuffer[] segments, long tokens) {
            this.path = path;
            this.segments = segments;
            this.tokens = tokens;
        }
    }

    private final List<Shard> shards;
    private final TokenType type;
    private final long totalTokens;

    private TokenShards(List<Shard> shards, TokenType type) {
        this.shards = shards;
        this.type = type;
        long t = 0;
        for (Shard s : shards) t += s.tokens;
        this.totalTokens = t;
    }

    /** Opens files and directories (a directory contributes its *.bin files, sorted by name). */
    public static TokenShards open(List<Path> paths, TokenType type) throws IOException {
        if (paths.isEmpty()) throw new ShardException(null, "no token files given");
        List<Path> files = new ArrayList<>();
        for (Path p : paths) {
            if (Files.isDirectory(p)) {
                List<Path> bins;
                try (Stream<Path> s = Files.list(p)) {
                    bins = s.filter(f -> f.getFileName().toString().endsWith(".bin") && Files.isRegularFile(f))
                            .sorted().collect(Collectors.toList());
                }
                if (bins.isEmpty()) throw new ShardException(p, "directory holds no *.bin token files");
                files.addAll(bins);
            } else if (Files.exists(p)) {
                if (!Files.isRegularFile(p)) throw new ShardException(p, "not a regular file");
                files.add(p);
            } else {
                throw new ShardException(p, "no such file or directory");
            }
        }
        List<Shard> shards = new ArrayList<>();
        for (Path f : files) shards.add(map(f, type));
        return new TokenShards(Collections.unmodifiableList(shards), type);
    }

    public static TokenShards open(Path pathOrDir, TokenType type) throws IOException {
        return open(List.of(pathOrDir), type);
    }

    /** In-memory tokens (tests, benchmarks); values must fit the type. */
    public static TokenShards of(String name, int[] tokens, TokenType type) {
        ByteBuffer b = ByteBuffer.allocate(tokens.length * type.bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int t : tokens) {
            if (type == TokenType.UINT16) {
                if (t < 0 || t > 0xFFFF) throw new IllegalArgumentException("token " + t + " does not fit uint16");
                b.putShort((short) t);
            } else {
                b.putInt(t);
            }
        }
        b.flip();
        return new TokenShards(List.of(new Shard(Path.of(name), new ByteBuffer[] {b}, tokens.length)), type);
    }

    /** Writes tokens as a shard file (little-endian, the given width), atomically. */
    public static void write(Path file, int[] tokens, TokenType type) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(tokens.length * type.bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int t : tokens) {
            if (type == TokenType.UINT16) b.putShort((short) t);
            else b.putInt(t);
        }
        b.flip();
        org.catonnx.exporter.io.AtomicFiles.write(file, tmp -> {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                while (b.hasRemaining()) ch.write(b);
            }
        });
    }

    private static Shard map(Path f, TokenType type) throws IOException {
        long size;
        try {
            size = Files.size(f);
        } catch (NoSuchFileException e) {
            throw new ShardException(f, "no such file");
        }
        if (size == 0) throw new ShardException(f, "file is empty");
        if (size % type.bytes != 0) {
            throw new ShardException(f, "size " + size + " bytes is not a multiple of " + type.bytes + " (" + type.name().toLowerCase(Locale.ROOT)
                    + " tokens); wrong --token-dtype or a truncated file?");
        }
        int n = (int) ((size + SEGMENT - 1) / SEGMENT);
        ByteBuffer[] segs = new ByteBuffer[n];
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            for (int i = 0; i < n; i++) {
                long pos = i * SEGMENT;
                MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_ONLY, pos, Math.min(SEGMENT, size - pos));
                segs[i] = m.order(ByteOrder.LITTLE_ENDIAN);
            }
        }
        return new Shard(f, segs, size / type.bytes);
    }

    public TokenType tokenType() { return type; }

    public long totalTokens() { return totalTokens; }

    public int numShards() { return shards.size(); }

    public List<Path> files() {
        List<Path> l = new ArrayList<>();
        for (Shard s : shards) l.add(s.path);
        return l;
    }

    private long token(Shard s, long i) {
        long byteOff = i * type.bytes;
        ByteBuffer seg = s.segments[(int) (byteOff / SEGMENT)];
        int off = (int) (byteOff % SEGMENT);
        return type == TokenType.UINT16 ? Short.toUnsignedLong(seg.getShort(off)) : Integer.toUnsignedLong(seg.getInt(off));
    }

    /** Token i of shard s. */
    public long token(int shard, long i) {
        Shard s = shards.get(shard);
        if (i < 0 || i >= s.tokens) throw new IndexOutOfBoundsException("token " + i + " of " + s.tokens + " in " + s.path);
        return token(s, i);
    }

    /** Checks that every token id is below vocabSize; the error names the file, the position and the id. */
    public void checkIds(int vocabSize) throws ShardException {
        for (Shard s : shards) {
            for (long i = 0; i < s.tokens; i++) {
                long t = token(s, i);
                if (t >= vocabSize) {
                    throw new ShardException(s.path, "token id " + t + " at position " + i + " is not below the vocabulary size " + vocabSize);
                }
            }
        }
    }

    /** Checks that some shard holds at least one window of seqLen + 1 tokens. */
    public void checkWindows(int seqLen) throws ShardException {
        if (windowStarts(seqLen) == 0) {
            throw new ShardException(shards.size() == 1 ? shards.get(0).path : null, "no shard holds a window of seq_len + 1 = "
                    + (seqLen + 1) + " tokens (" + totalTokens + " tokens in " + shards.size() + " file(s))");
        }
    }

    private long windowStarts(int seqLen) {
        long n = 0;
        for (Shard s : shards) n += Math.max(0, s.tokens - seqLen);
        return n;
    }

    /** Number of non-overlapping evaluation windows of seqLen + 1 tokens (stride seqLen) over all shards. */
    public long sequentialWindows(int seqLen) {
        long n = 0;
        for (Shard s : shards) n += s.tokens > seqLen ? (s.tokens - 1) / seqLen : 0;
        return n;
    }

    /** A batch of random windows drawn from rng (batch draws, one per window). */
    public Batch randomBatch(SplitMix64 rng, int batch, int seqLen) {
        long starts = windowStarts(seqLen);
        if (starts == 0) throw new IllegalStateException("no shard holds a window of " + (seqLen + 1) + " tokens");
        long[] ids = new long[batch * seqLen], labels = new long[batch * seqLen];
        for (int b = 0; b < batch; b++) {
            long k = rng.nextLong(starts);
            for (Shard s : shards) {
                long here = Math.max(0, s.tokens - seqLen);
                if (k < here) {
                    fill(s, k, seqLen, ids, labels, b * seqLen);
                    break;
                }
                k -= here;
            }
        }
        return new Batch(TensorData.ofLongs(ids, batch, seqLen), TensorData.ofLongs(labels, batch, seqLen));
    }

    /** Evaluation windows first .. first + batch - 1 (see {@link #sequentialWindows}); fewer at the end. */
    public Batch sequentialBatch(long first, int batch, int seqLen) {
        long total = sequentialWindows(seqLen);
        int n = (int) Math.max(0, Math.min(batch, total - first));
        if (n == 0) throw new IndexOutOfBoundsException("window " + first + " of " + total);
        long[] ids = new long[n * seqLen], labels = new long[n * seqLen];
        for (int b = 0; b < n; b++) {
            long w = first + b;
            for (Shard s : shards) {
                long here = s.tokens > seqLen ? (s.tokens - 1) / seqLen : 0;
                if (w < here) {
                    fill(s, w * seqLen, seqLen, ids, labels, b * seqLen);
                    break;
                }
                w -= here;
            }
        }
        return new Batch(TensorData.ofLongs(ids, n, seqLen), TensorData.ofLongs(labels, n, seqLen));
    }

    private void fill(Shard s, long start, int seqLen, long[] ids, long[] labels, int off) {
        long prev = token(s, start);
        for (int t = 0; t < seqLen; t++) {
            long next = token(s, start + t + 1);
            ids[off + t] = prev;
            labels[off + t] = next;
            prev = next;
        }
    }

    @Override
    public String toString() {
        return shards.size() + " shard(s), " + totalTokens + " " + type.name().toLowerCase(Locale.ROOT) + " tokens";
    }
}
