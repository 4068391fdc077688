package org.catonnx.exporter.bundle;

import org.catonnx.onnx.DType;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/** Names and small helpers shared by the bundle writer and reader (see docs/BUNDLE.md). */
public final class BundleFormat {
    private BundleFormat() {}

    /** The one format version this code writes and reads. */
    public static final String FORMAT = "cat-onnx-bundle/1";
    public static final String MANIFEST = "manifest.json";
    public static final String GRAPHS_DIR = "graphs";
    /** The shared external-data file; it lives beside the graphs so each graph refers to it by its bare name. */
    public static final String WEIGHTS_NAME = "weights.bin";
    public static final String WEIGHTS = GRAPHS_DIR + "/" + WEIGHTS_NAME;
    public static final String TOKENIZER = "tokenizer.json";

    public static final String FORWARD = "forward";
    public static final String LOSS = "loss";
    public static final String START = "start";
    public static final String COMPRESS = "compress";
    public static final String SUMMARIES = "summaries";
    public static final String TOKENS = "tokens";
    public static final String STEP = "step";
    /** the whole greedy generation as one ONNX Loop */
    public static final String GENERATE = "generate";
    /** CAT-layer models: the token that completes a chunk */
    public static final String CHUNK_END = "chunk_end";
    /** one greedy decoding step with every shape fixed (batch in the manifest), for IO binding and CUDA graphs */
    public static final String FIXED_STEP = "fixed_step";
    /** CAT's chunk compressor for {@link #FIXED_STEP}, same fixed batch */
    public static final String FIXED_COMPRESS = "fixed_compress";
    public static final List<String> PURPOSES = List.of(FORWARD, LOSS, START, COMPRESS, SUMMARIES, TOKENS, STEP, GENERATE, CHUNK_END,
            FIXED_STEP, FIXED_COMPRESS);
    /** The cached-decoding graph kinds of CAT models, of dense models and of CAT-layer models. */
    public static final List<String> CAT_DECODE = List.of(START, COMPRESS, SUMMARIES, TOKENS, GENERATE);
    public static final List<String> DENSE_DECODE = List.of(STEP, GENERATE);
    public static final List<String> LAYER_DECODE = List.of(START, TOKENS, CHUNK_END);

    /** Archive suffixes {@link Bundle#open} treats as a zip archive. */
    public static boolean isArchiveName(Path p) {
        String n = p.getFileName() == null ? "" : p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".zip") || n.endsWith(".cat");
    }

    /** Relative file name of a graph: forward_c8.onnx, or step.onnx for chunk 0 (dense). */
    public static String graphFile(String purpose, int chunk) {
        return GRAPHS_DIR + "/" + purpose + (chunk > 0 ? "_c" + chunk : "") + ".onnx";
    }

    /** Element type names used in the manifest: float32, float16, bfloat16, float64, int64, int32, bool, ... */
    public static String typeName(DType t) {
        switch (t) {
            case FLOAT: return "float32";
            case DOUBLE: return "float64";
            default: return t.name().toLowerCase(Locale.ROOT);
        }
    }

    public static DType parseTypeName(String s) {
        for (DType t : DType.values()) if (typeName(t).equals(s)) return t;
        throw new IllegalArgumentException("unknown element type '" + s + "'");
    }

    public static String sha256(Path file) throws IOException {
        MessageDigest md = sha256();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * Checks a relative path as written in a manifest or archive: forward slashes, no empty,
     * "." or ".." segments, not absolute, no drive letter, no backslash or control characters.
     * @return null when safe, else the reason
     */
    static String unsafeReason(String p) {
        if (p == null || p.isEmpty()) return "empty path";
        if (p.startsWith("/")) return "absolute path";
        if (p.length() >= 2 && p.charAt(1) == ':') return "absolute path (drive letter)";
        if (p.indexOf('\\') >= 0) return "backslash in path";
        for (int i = 0; i < p.length(); i++) if (p.charAt(i) < 0x20 || p.charAt(i) == 0x7f) return "control character in path";
        for (String seg : p.split("/", -1)) {
            if (seg.equals("..")) return "path escapes the bundle ('..')";
            if (seg.isEmpty() || seg.equals(".")) return "path has an empty or '.' segment";
        }
        return null;
    }

    /** Resolves a manifest path inside root, refusing anything that could land outside it. */
    static Path resolveInside(Path root, String rel) throws BundleException {
        String why = unsafeReason(rel);
        if (why != null) throw new BundleException(BundleException.Kind.UNSAFE_PATH, rel, why);
        Path r = root.toAbsolutePath().normalize();
        Path p = r.resolve(rel).normalize();
        if (!p.startsWith(r) || p.equals(r)) throw new BundleException(BundleException.Kind.UNSAFE_PATH, rel, "path escapes the bundle");
        return p;
    }

    /** 1536 -> "1.5 KiB": sizes in progress lines and inspect output. */
    public static String humanSize(long bytes) {
        if (bytes < 1024) return bytes + " B";
        String[] u = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int i = -1;
        while (v >= 1024 && i < u.length - 1) {
            v /= 1024;
            i++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, u[i]);
    }
}
