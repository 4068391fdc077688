package org.catonnx.exporter.bundle;

import ai.onnx.proto.OnnxMl;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.catonnx.exporter.io.AtomicFiles;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Presets;
import org.catonnx.models.RandomInit;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.TensorData;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.catonnx.exporter.bundle.BundleException.Kind.*;
import static org.junit.jupiter.api.Assertions.*;

/** A damaged, edited or hostile bundle is refused before anything in it runs, with a message naming the file. */
class BundleCorruptionTest {
    @TempDir
    static Path shared;
    static Path good;

    @TempDir
    Path dir;

    @BeforeAll
    static void writeOne() throws IOException {
        ModelSpec spec = Presets.get("tiny-cat", 0);
        good = shared.resolve("good");
        new BundleWriter(spec, new RandomInit(spec, 5)).provenance(Provenance.preset("tiny-cat", 5)).write(good);
    }

    private Path copy() throws IOException {
        Path c = dir.resolve("b");
        try (Stream<Path> s = Files.walk(good)) {
            for (Path p : s.collect(Collectors.toList())) {
                Path t = c.resolve(good.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t); else Files.copy(p, t);
            }
        }
        return c;
    }

    private static BundleException refused(BundleException.Kind kind, String file, Executable open) {
        BundleException e = assertThrows(BundleException.class, open);
        assertEquals(kind, e.kind(), e.getMessage());
        if (file != null) assertTrue(e.getMessage().contains(file), e.getMessage());
        return e;
    }

    private static ObjectNode manifest(Path b) throws IOException {
        return (ObjectNode) new ObjectMapper().readTree(b.resolve("manifest.json").toFile());
    }

    private static void save(Path b, ObjectNode m) throws IOException {
        new ObjectMapper().writeValue(b.resolve("manifest.json").toFile(), m);
    }

    @Test
    void goodBundleOpens() throws IOException {
        try (Bundle b = Bundle.open(copy())) {
            assertEquals(7, b.graphs().size());
        }
    }

    @Test
    void flippedByteInWeights() throws IOException {
        Path b = copy();
        Path w = b.resolve("graphs/weights.bin");
        byte[] d = Files.readAllBytes(w);
        d[d.length / 2] ^= 0x01;
        Files.write(w, d);
        BundleException e = refused(CHECKSUM, "graphs/weights.bin", () -> Bundle.open(b));
        assertTrue(e.getMessage().contains("SHA-256"), e.getMessage());
    }

    @Test
    void truncatedGraph() throws IOException {
        Path b = copy();
        Path g = b.resolve("graphs/forward_c8.onnx");
        byte[] d = Files.readAllBytes(g);
        Files.write(g, java.util.Arrays.copyOf(d, d.length - 100));
        refused(SIZE, "graphs/forward_c8.onnx", () -> Bundle.open(b));
    }

    @Test
    void unknownFormatVersion() throws IOException {
        Path b = copy();
        ObjectNode m = manifest(b);
        m.put("format", "cat-onnx-bundle/2");
        save(b, m);
        BundleException e = refused(FORMAT, "manifest.json", () -> Bundle.open(b));
        assertTrue(e.getMessage().contains("cat-onnx-bundle/2"), e.getMessage());
    }

    @Test
    void manifestPathsMustStayInside() throws IOException {
        for (String bad : List.of("../outside.onnx", "graphs/../../outside.onnx", "/etc/passwd", "graphs\\x.onnx")) {
            Path b = copy();
            ObjectNode m = manifest(b);
            ((ObjectNode) m.withArray("files").get(0)).put("path", bad);
            save(b, m);
            refused(UNSAFE_PATH, bad, () -> Bundle.open(b));
            AtomicFiles.deleteRecursively(b);
        }
        Path b = copy();
        ObjectNode m = manifest(b);
        m.with("weights").put("file", "../weights.bin");
        save(b, m);
        refused(UNSAFE_PATH, "../weights.bin", () -> Bundle.open(b));
    }

    @Test
    void missingFile() throws IOException {
        Path b = copy();
        Files.delete(b.resolve("graphs/tokens_c8.onnx"));
        BundleException e = refused(MISSING, "graphs/tokens_c8.onnx", () -> Bundle.open(b));
        assertTrue(e.getMessage().contains("missing"));
        Path c = dir.resolve("empty");
        Files.createDirectories(c);
        refused(MISSING, "manifest.json", () -> Bundle.open(c));
    }

    @Test
    void unlistedGraphRefusedOtherFilesWarned() throws IOException {
        Path b = copy();
        Files.writeString(b.resolve("README.txt"), "hello");
        try (Bundle x = Bundle.open(b)) {
            assertEquals(1, x.warnings().size());
            assertTrue(x.warnings().get(0).startsWith("README.txt"));
        }
        Files.copy(b.resolve("graphs/forward_c8.onnx"), b.resolve("graphs/evil.onnx"));
        refused(UNEXPECTED_FILE, "graphs/evil.onnx", () -> Bundle.open(b));
    }

    @Test
    void unknownPurposeIsWarnedNotFatal() throws IOException {
        Path b = copy();
        ObjectNode m = manifest(b);
        ((ObjectNode) m.withArray("graphs").get(0)).put("purpose", "speculate");
        save(b, m);
        try (Bundle x = Bundle.open(b)) {
            assertTrue(x.warnings().stream().anyMatch(w -> w.contains("'speculate'")), x.warnings().toString());
            assertTrue(x.find("speculate", 8).isPresent());
        }
    }

    @Test
    void symbolicLinksRefused() throws IOException {
        Path b = copy();
        Path outside = Files.writeString(dir.resolve("outside.txt"), "x");
        Files.createSymbolicLink(b.resolve("link.txt"), outside);
        refused(UNEXPECTED_FILE, "link.txt", () -> Bundle.open(b));
    }

    @Test
    void graphWhoseExternalDataPointsOutside() throws IOException {
        Path b = copy();
        Path g = b.resolve("graphs/forward_c8.onnx");
        OnnxMl.ModelProto p = OnnxMl.ModelProto.parseFrom(Files.readAllBytes(g));
        OnnxMl.ModelProto.Builder mb = p.toBuilder();
        OnnxMl.GraphProto.Builder gb = mb.getGraphBuilder();
        for (int i = 0; i < gb.getInitializerCount(); i++) {
            OnnxMl.TensorProto.Builder t = gb.getInitializerBuilder(i);
            if (t.getDataLocation() != OnnxMl.TensorProto.DataLocation.EXTERNAL) continue;
            for (int k = 0; k < t.getExternalDataCount(); k++) {
                if (t.getExternalData(k).getKey().equals("location")) t.setExternalData(k, t.getExternalData(k).toBuilder().setValue("../../secret.bin"));
            }
            break;
        }
        Files.write(g, mb.build().toByteArray());
        // a consistent manifest (as an attacker would write it) does not make it acceptable
        ObjectNode m = manifest(b);
        for (var f : m.withArray("files")) {
            if (f.get("path").asText().equals("graphs/forward_c8.onnx")) {
                ((ObjectNode) f).put("size", Files.size(g)).put("sha256", BundleFormat.sha256(g));
            }
        }
        save(b, m);
        BundleException e = refused(UNSAFE_PATH, "graphs/forward_c8.onnx", () -> Bundle.open(b));
        assertTrue(e.getMessage().contains("../../secret.bin"), e.getMessage());
    }

    // ------------------------------------------------------------------ archives

    private Path zip(String name, List<String> entries) throws IOException {
        Path z = dir.resolve(name);
        try (OutputStream os = Files.newOutputStream(z); ZipOutputStream zo = new ZipOutputStream(os)) {
            for (String e : entries) {
                zo.putNextEntry(new ZipEntry(e));
                zo.write(("content of " + e).getBytes(StandardCharsets.UTF_8));
                zo.closeEntry();
            }
        }
        return z;
    }

    private void assertNothingExtracted() throws IOException {
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        assertFalse(Files.exists(tmp.resolve("evil.txt")));
        try (Stream<Path> s = Files.list(tmp)) {
            List<Path> left = s.filter(p -> p.getFileName().toString().startsWith("cat-bundle-")).collect(Collectors.toList());
            // other tests may be extracting concurrently; none of ours is left holding the hostile entry
            for (Path p : left) assertFalse(Files.exists(p.resolve("ok.txt")), "extraction left behind: " + p);
        }
    }

    @Test
    void archiveWithParentEntry() throws IOException {
        Path z = zip("bad.cat", List.of("ok.txt", "../evil.txt"));
        refused(UNSAFE_PATH, "../evil.txt", () -> Bundle.open(z));
        Path z2 = zip("bad2.zip", List.of("ok.txt", "graphs/../../evil.txt"));
        refused(UNSAFE_PATH, "evil.txt", () -> Bundle.open(z2));
        assertNothingExtracted();
        assertFalse(Files.exists(dir.resolve("evil.txt")));
    }

    @Test
    void archiveWithAbsoluteEntry() throws IOException {
        Path z = zip("abs.cat", List.of("ok.txt", "/tmp/evil.txt"));
        refused(UNSAFE_PATH, "/tmp/evil.txt", () -> Bundle.open(z));
        Path z2 = zip("drive.cat", List.of("ok.txt", "C:/evil.txt"));
        refused(UNSAFE_PATH, "C:/evil.txt", () -> Bundle.open(z2));
        assertNothingExtracted();
    }

    @Test
    void archiveWithDuplicateEntry() throws IOException {
        Path z = zip("dup.cat", List.of("ok.txt", "ok.txx"));
        byte[] d = Files.readAllBytes(z);
        replaceAll(d, "ok.txx", "ok.txt");
        Files.write(z, d);
        refused(ARCHIVE, "ok.txt", () -> Bundle.open(z));
    }

    @Test
    void archiveWithSymlinkEntry() throws IOException {
        Path z = zip("link.cat", List.of("ok.txt", "link"));
        byte[] d = Files.readAllBytes(z);
        // mark the "link" central-directory entry as made on Unix with mode lrwxrwxrwx
        for (int i = 0; i + 46 < d.length; i++) {
            if (d[i] == 'P' && d[i + 1] == 'K' && d[i + 2] == 1 && d[i + 3] == 2
                    && new String(d, i + 46, 4, StandardCharsets.UTF_8).equals("link")) {
                d[i + 5] = 3;
                int attrs = 0120777 << 16;
                for (int k = 0; k < 4; k++) d[i + 38 + k] = (byte) (attrs >>> (8 * k));
            }
        }
        Files.write(z, d);
        refused(UNSAFE_PATH, "link", () -> Bundle.open(z));
    }

    @Test
    void oversizedArchiveEntry() throws IOException {
        Path z = dir.resolve("big.cat");
        try (OutputStream os = Files.newOutputStream(z); ZipOutputStream zo = new ZipOutputStream(os)) {
            zo.putNextEntry(new ZipEntry("bomb.bin"));
            zo.write(new byte[1 << 20]);   // compresses to ~1 KiB
            zo.closeEntry();
        }
        refused(ARCHIVE, "bomb.bin", () -> Bundle.open(z, new BundleArchive.Limits(100, 64 << 10, 1 << 30)));
        refused(ARCHIVE, "big.cat", () -> Bundle.open(z, new BundleArchive.Limits(100, 1 << 30, 64 << 10)));
        Path notZip = Files.writeString(dir.resolve("junk.cat"), "not a zip");
        refused(ARCHIVE, "junk.cat", () -> Bundle.open(notZip));
    }

    @Test
    void corruptArchiveContentRefusedAfterExtraction() throws IOException {
        Path b = copy();
        Path w = b.resolve("graphs/weights.bin");
        byte[] d = Files.readAllBytes(w);
        d[7] ^= 0x40;
        Files.write(w, d);
        Path z = dir.resolve("x.cat");
        BundleArchive.write(b, z);
        refused(CHECKSUM, "graphs/weights.bin", () -> Bundle.open(z));
    }

    private static void replaceAll(byte[] d, String from, String to) {
        byte[] f = from.getBytes(StandardCharsets.UTF_8), t = to.getBytes(StandardCharsets.UTF_8);
        outer:
        for (int i = 0; i + f.length <= d.length; i++) {
            for (int k = 0; k < f.length; k++) if (d[i + k] != f[k]) continue outer;
            System.arraycopy(t, 0, d, i, t.length);
        }
    }

    // ------------------------------------------------------------------ interrupted export

    /** Gives up after a number of weights, as a failing disk or a bad checkpoint would midway. */
    static final class FailingWeights implements WeightSource {
        final RandomInit inner;
        int left;

        FailingWeights(ModelSpec spec, int after) {
            inner = new RandomInit(spec, 1);
            left = after;
        }

        @Override
        public TensorData tensor(String name) { return inner.tensor(name); }

        @Override
        public TensorData tensor(String name, long[] shape) {
            if (--left < 0) throw new java.io.UncheckedIOException(new IOException("read error midway"));
            return inner.tensor(name, shape);
        }
    }

    @Test
    void interruptedExportLeavesNoBundleAndNoTemporaries() throws IOException {
        ModelSpec spec = Presets.get("tiny-cat", 0);
        Path parent = Files.createDirectories(dir.resolve("out"));
        Path target = parent.resolve("model");
        List<String> progress = new java.util.ArrayList<>();
        // enough weights for the first graphs, not for all
        Exception e = assertThrows(java.io.UncheckedIOException.class, () -> new BundleWriter(spec, new FailingWeights(spec, 40))
                .progress(progress::add).write(target));
        assertEquals("read error midway", e.getCause().getMessage());
        assertFalse(progress.isEmpty(), "the failure should come after some graphs were written");
        try (Stream<Path> s = Files.list(parent)) {
            assertEquals(List.of(), s.collect(Collectors.toList()));
        }
        // a failing graph check aborts as well, and an existing bundle survives a failed re-export
        new BundleWriter(spec, new RandomInit(spec, 1)).write(target);
        String before = Files.readString(target.resolve("manifest.json"));
        assertThrows(IOException.class, () -> new BundleWriter(spec, new RandomInit(spec, 2)).overwrite(true)
                .check((purpose, chunk, file) -> {
                    if (purpose.equals("summaries")) throw new IOException("does not load");
                }).write(target));
        assertEquals(before, Files.readString(target.resolve("manifest.json")));
        try (Stream<Path> s = Files.list(parent)) {
            assertEquals(List.of("model"), s.map(p -> p.getFileName().toString()).collect(Collectors.toList()));
        }
        try (Bundle b = Bundle.open(target)) {
            assertEquals(7, b.graphs().size());
        }
    }
}
