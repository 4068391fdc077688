package org.catonnx.exporter.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.catonnx.exporter.io.AtomicFiles;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.catonnx.exporter.bundle.BundleException.Kind.ARCHIVE;
import static org.catonnx.exporter.bundle.BundleException.Kind.UNSAFE_PATH;

/**
 * A bundle as one zip archive (suffix .cat or .zip): the bundle directory's files at the
 * archive root, manifest.json first. Extraction trusts nothing in the archive: entry names are
 * checked before anything is written (no absolute paths, no '..', no duplicates, no symbolic
 * links or other special entries) and sizes are bounded while streaming.
 */
public final class BundleArchive {
    private BundleArchive() {}

    /** Limits for extracting archives. */
    public record Limits(int maxEntries, long maxEntryBytes, long maxTotalBytes) {
        public static Limits defaults() {
            return new Limits(10_000, 64L << 30, 256L << 30);
        }
    }

    /** Writes the bundle directory's manifest and listed files to one archive, atomically. */
    public static void write(Path bundleDir, Path archive) throws IOException {
        JsonNode manifest = new ObjectMapper().readTree(bundleDir.resolve(BundleFormat.MANIFEST).toFile());
        List<String> rels = new ArrayList<>();
        rels.add(BundleFormat.MANIFEST);
        for (JsonNode f : manifest.get("files")) rels.add(f.get("path").asText());
        Path parent = archive.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        AtomicFiles.write(archive, tmp -> {
            try (OutputStream os = Files.newOutputStream(tmp); ZipOutputStream zip = new ZipOutputStream(os)) {
                for (String rel : rels) {
                    Path p = BundleFormat.resolveInside(bundleDir, rel);
                    ZipEntry e = new ZipEntry(rel);
                    if (rel.endsWith(".bin")) {
                        // weights do not compress; STORED lets readers map them straight from the archive
                        e.setMethod(ZipEntry.STORED);
                        e.setSize(Files.size(p));
                        e.setCompressedSize(Files.size(p));
                        e.setCrc(crc(p));
                    }
                    zip.putNextEntry(e);
                    Files.copy(p, zip);
                    zip.closeEntry();
                }
            }
        });
    }

    private static long crc(Path p) throws IOException {
        CRC32 c = new CRC32();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(p)) {
            for (int n; (n = in.read(buf)) > 0; ) c.update(buf, 0, n);
        }
        return c.getValue();
    }

    /** One central-directory record, as the archive declares it. */
    record Entry(String name, boolean directory, long declaredSize) {}

    /**
     * Extracts into {@code into} (an empty directory) after checking every entry name.
     * Nothing is written when any entry is refused.
     */
    public static void extract(Path archive, Path into, Limits limits) throws IOException {
        String label = archive.getFileName().toString();
        List<Entry> entries = centralDirectory(archive, label, limits);
        Path root = into.toAbsolutePath().normalize();
        Set<String> seen = new HashSet<>();
        for (Entry e : entries) {
            String name = e.directory ? e.name.substring(0, e.name.length() - 1) : e.name;
            BundleFormat.resolveInside(root, name);       // throws UNSAFE_PATH
            if (!seen.add(name)) throw new BundleException(ARCHIVE, label + "!" + e.name, "duplicate entry name");
            if (e.declaredSize > limits.maxEntryBytes()) {
                throw new BundleException(ARCHIVE, label + "!" + e.name, "entry of " + e.declaredSize + " bytes exceeds the limit of "
                        + limits.maxEntryBytes());
            }
        }
        long total = 0;
        byte[] buf = new byte[1 << 20];
        try (ZipFile zip = new ZipFile(archive.toFile())) {
            for (Entry e : entries) {
                Path target = BundleFormat.resolveInside(root, e.directory ? e.name.substring(0, e.name.length() - 1) : e.name);
                if (e.directory) {
                    Files.createDirectories(target);
                    continue;
                }
                Files.createDirectories(target.getParent());
                ZipEntry ze = zip.getEntry(e.name);
                if (ze == null) throw new BundleException(ARCHIVE, label + "!" + e.name, "entry cannot be read");
                long written = 0;
                try (InputStream in = zip.getInputStream(ze);
                     OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                    for (int n; (n = in.read(buf)) > 0; ) {
                        written += n;
                        total += n;
                        if (written > limits.maxEntryBytes()) {
                            throw new BundleException(ARCHIVE, label + "!" + e.name, "entry exceeds the limit of " + limits.maxEntryBytes() + " bytes");
                        }
                        if (total > limits.maxTotalBytes()) {
                            throw new BundleException(ARCHIVE, label, "archive expands to more than " + limits.maxTotalBytes() + " bytes");
                        }
                        out.write(buf, 0, n);
                    }
                } catch (java.util.zip.ZipException | java.io.EOFException ze2) {
                    throw new BundleException(ARCHIVE, label + "!" + e.name, "corrupt entry: " + (ze2.getMessage() == null ? "unexpected end of file" : ze2.getMessage()), ze2);
                }
            }
        } catch (java.util.zip.ZipException | java.io.EOFException ze) {
            // java.util.zip throws a bare EOFException when the end record's offsets disagree with the file
            throw new BundleException(ARCHIVE, label, "not a valid zip archive: " + (ze.getMessage() == null ? "unexpected end of file" : ze.getMessage()), ze);
        }
    }

    // ------------------------------------------------------------------ central directory

    private static final int EOCD = 0x06054b50, ZIP64_LOCATOR = 0x07064b50, ZIP64_EOCD = 0x06064b50, CEN = 0x02014b50;

    /** Reads entry names and attributes from the central directory (java.util.zip hides symlink bits). */
    static List<Entry> centralDirectory(Path archive, String label, Limits limits) throws IOException {
        try (FileChannel ch = FileChannel.open(archive, StandardOpenOption.READ)) {
            long size = ch.size();
            int tailLen = (int) Math.min(size, 22 + 65535);
            ByteBuffer tail = read(ch, size - tailLen, tailLen);
            int eocd = -1;
            for (int i = tailLen - 22; i >= 0; i--) {
                if (tail.getInt(i) == EOCD) {
                    eocd = i;
                    break;
                }
            }
            if (eocd < 0) throw new BundleException(ARCHIVE, label, "not a zip archive (no end of central directory)");
            long count = Short.toUnsignedLong(tail.getShort(eocd + 10));
            long cdSize = Integer.toUnsignedLong(tail.getInt(eocd + 12));
            long cdOffset = Integer.toUnsignedLong(tail.getInt(eocd + 16));
            if (count == 0xFFFF || cdSize == 0xFFFFFFFFL || cdOffset == 0xFFFFFFFFL) {
                long eocdPos = size - tailLen + eocd;
                if (eocdPos < 20) throw new BundleException(ARCHIVE, label, "truncated zip64 archive");
                ByteBuffer loc = read(ch, eocdPos - 20, 20);
                if (loc.getInt(0) != ZIP64_LOCATOR) throw new BundleException(ARCHIVE, label, "missing zip64 locator");
                long z64 = loc.getLong(8);
                if (z64 < 0 || z64 > size - 56) throw new BundleException(ARCHIVE, label, "bad zip64 record offset");
                ByteBuffer r = read(ch, z64, 56);
                if (r.getInt(0) != ZIP64_EOCD) throw new BundleException(ARCHIVE, label, "bad zip64 end record");
                count = r.getLong(32);
                cdSize = r.getLong(40);
                cdOffset = r.getLong(48);
            }
            if (count > limits.maxEntries()) throw new BundleException(ARCHIVE, label, count + " entries exceed the limit of " + limits.maxEntries());
            // each bound on its own: offset + size of a hostile zip64 record could overflow
            if (count < 0 || cdOffset < 0 || cdSize < 0 || cdSize > size || cdOffset > size - cdSize || cdSize > Integer.MAX_VALUE) {
                throw new BundleException(ARCHIVE, label, "central directory out of bounds");
            }
            ByteBuffer cd = read(ch, cdOffset, (int) cdSize);
            List<Entry> out = new ArrayList<>();
            int p = 0;
            for (long i = 0; i < count; i++) {
                if (p + 46 > cd.limit() || cd.getInt(p) != CEN) throw new BundleException(ARCHIVE, label, "corrupt central directory");
                int madeBy = Short.toUnsignedInt(cd.getShort(p + 4));
                long uncompressed = Integer.toUnsignedLong(cd.getInt(p + 24));
                int nameLen = Short.toUnsignedInt(cd.getShort(p + 28));
                int extraLen = Short.toUnsignedInt(cd.getShort(p + 30));
                int commentLen = Short.toUnsignedInt(cd.getShort(p + 32));
                long external = Integer.toUnsignedLong(cd.getInt(p + 38));
                if (p + 46 + nameLen + extraLen + commentLen > cd.limit()) throw new BundleException(ARCHIVE, label, "corrupt central directory");
                byte[] nb = new byte[nameLen];
                cd.get(p + 46, nb);
                String name = new String(nb, StandardCharsets.UTF_8);
                if (uncompressed == 0xFFFFFFFFL) uncompressed = zip64Size(cd, p + 46 + nameLen, extraLen, uncompressed);
                if (uncompressed < 0) throw new BundleException(ARCHIVE, label + "!" + name, "entry declares a negative size");
                int hostOs = madeBy >>> 8;
                int mode = (int) (external >>> 16);
                int type = mode & 0170000;
                if (hostOs == 3 && type == 0120000) throw new BundleException(UNSAFE_PATH, label + "!" + name, "symbolic link entries are not allowed");
                if (hostOs == 3 && type != 0 && type != 0100000 && type != 0040000) {
                    throw new BundleException(ARCHIVE, label + "!" + name, "special file entries are not allowed");
                }
                boolean dir = name.endsWith("/");
                if (dir && uncompressed != 0) throw new BundleException(ARCHIVE, label + "!" + name, "directory entry with content");
                out.add(new Entry(name, dir, uncompressed));
                p += 46 + nameLen + extraLen + commentLen;
            }
            return out;
        } catch (java.io.EOFException e) {
            throw new BundleException(ARCHIVE, label, "truncated zip archive: " + e.getMessage(), e);
        }
    }

    private static long zip64Size(ByteBuffer cd, int at, int len, long dflt) {
        int end = at + len;
        while (at + 4 <= end) {
            int id = Short.toUnsignedInt(cd.getShort(at));
            int size = Short.toUnsignedInt(cd.getShort(at + 2));
            if (id == 0x0001 && size >= 8 && at + 12 <= end) return cd.getLong(at + 4);   // uncompressed size comes first
            at += 4 + size;
        }
        return dflt;
    }

    private static ByteBuffer read(FileChannel ch, long pos, int len) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, pos + b.position()) < 0) throw new java.io.EOFException("unexpected end of archive");
        }
        return b.flip().order(ByteOrder.LITTLE_ENDIAN);
    }
}
