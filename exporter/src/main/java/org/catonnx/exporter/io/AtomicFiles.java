package org.catonnx.exporter.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.LinkOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Writes files and directories so that readers see either the old version or the complete new one: content goes to
 * a temporary sibling, is fsynced, then renamed onto the target. On failure the temporary is deleted and an existing
 * target is left as it was.
 */
public final class AtomicFiles {
    @FunctionalInterface
    public interface IOConsumer<T> {
        void accept(T t) throws IOException;
    }

    private AtomicFiles() {}

    /** Calls {@code writeTemp} with an empty temporary file beside {@code target}, then renames it onto the target. */
    public static void write(Path target, IOConsumer<Path> writeTemp) throws IOException {
        Path dir = parentOf(target);
        Path tmp = createSibling(target, ".tmp", false);
        try {
            writeTemp.accept(tmp);
            fsync(tmp);
            move(tmp, target);
        } catch (Throwable e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        fsyncDirectory(dir);
    }

    /**
     * Calls {@code fillTempDir} with an empty temporary directory beside {@code target}, then renames it onto the
     * target. An existing target is moved aside first and deleted once the new directory is in place.
     */
    public static void writeDirectory(Path target, IOConsumer<Path> fillTempDir) throws IOException {
        Path dir = parentOf(target);
        recoverDirectory(target);
        Path tmp = createSibling(target, ".tmp", true);
        try {
            fillTempDir.accept(tmp);
            fsyncTree(tmp);
            if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                replaceExisting(tmp, target);
            } else {
                move(tmp, target);
            }
        } catch (Throwable e) {
            deleteRecursively(tmp);
            throw e;
        }
        fsyncDirectory(dir);
    }

    private static void replaceExisting(Path tmp, Path target) throws IOException {
        Path old = createSibling(target, ".old", true);
        Files.delete(old); // only the unique name was wanted; rename needs a free destination
        move(target, old);
        try {
            move(tmp, target);
        } catch (Throwable e) {
            try {
                move(old, target);
            } catch (IOException restore) {
                e.addSuppressed(restore);
            }
            throw e;
        }
        try {
            deleteRecursively(old);
        } catch (IOException ignored) {
            // The new version is in place; a leftover hidden ".old" sibling is harmless.
        }
    }

    /**
     * Cleans up after a {@link #writeDirectory} whose process died (kill -9, power loss): temporaries are hidden
     * siblings {@code .<name>.<pid>-<random>.tmp} / {@code .old}. Those of processes no longer running are deleted;
     * if the target itself is missing because the process died between moving the old version aside and moving the
     * new one in, the old version is moved back first. Siblings of live processes are left alone.
     * @return true if the target was restored from an ".old" sibling
     */
    public static boolean recoverDirectory(Path target) throws IOException {
        Path dir = parentOf(target);
        if (!Files.isDirectory(dir)) return false;
        String prefix = "." + target.getFileName() + ".";
        List<Path> stale;
        try (Stream<Path> s = Files.list(dir)) {
            stale = s.filter(p -> isStaleSibling(p.getFileName().toString(), prefix)).collect(Collectors.toList());
        }
        boolean restored = false;
        if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            Path newest = null;
            for (Path p : stale) {
                if (p.getFileName().toString().endsWith(".old") && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)
                        && (newest == null || Files.getLastModifiedTime(p).compareTo(Files.getLastModifiedTime(newest)) > 0)) {
                    newest = p;
                }
            }
            if (newest != null) {
                move(newest, target);
                stale.remove(newest);
                restored = true;
            }
        }
        for (Path p : stale) deleteRecursively(p);
        if (restored || !stale.isEmpty()) fsyncDirectory(dir);
        return restored;
    }

    /** ".name.PID-HEX.tmp" or ".old" whose process PID is no longer running. */
    static boolean isStaleSibling(String fileName, String prefix) {
        if (!fileName.startsWith(prefix) || !(fileName.endsWith(".tmp") || fileName.endsWith(".old"))) return false;
        String rest = fileName.substring(prefix.length(), fileName.length() - 4);
        int dash = rest.indexOf('-');
        if (dash <= 0 || rest.indexOf('.') >= 0) return false;
        long pid;
        try {
            pid = Long.parseLong(rest.substring(0, dash));
        } catch (NumberFormatException e) {
            return false;
        }
        return pid != ProcessHandle.current().pid() && ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true);
    }

    /** Deletes a file or a directory tree; a missing path is fine. */
    public static void deleteRecursively(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) return;
        List<Path> all;
        try (Stream<Path> s = Files.walk(path)) {
            all = s.sorted(Comparator.reverseOrder()).collect(Collectors.toList());
        }
        for (Path p : all) Files.deleteIfExists(p);
    }

    private static Path parentOf(Path target) {
        Path parent = target.toAbsolutePath().getParent();
        if (parent == null) throw new IllegalArgumentException("target has no parent directory: " + target);
        return parent;
    }

    // Not Files.createTempFile: that creates files with mode 0600, which the renamed target would keep.
    private static Path createSibling(Path target, String suffix, boolean directory) throws IOException {
        Path dir = parentOf(target);
        // the pid lets recoverDirectory tell temporaries of dead processes from those of running ones
        String base = "." + target.getFileName() + "." + ProcessHandle.current().pid() + "-";
        for (int attempt = 0; ; attempt++) {
            Path p = dir.resolve(base + Long.toHexString(ThreadLocalRandom.current().nextLong()) + suffix);
            try {
                return directory ? Files.createDirectory(p) : Files.createFile(p);
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 100) throw e;
            }
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void fsync(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    private static void fsyncTree(Path root) throws IOException {
        List<Path> all;
        try (Stream<Path> s = Files.walk(root)) {
            all = s.collect(Collectors.toList());
        }
        for (Path p : all) {
            if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) fsync(p);
            else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) fsyncDirectory(p);
        }
    }

    // Makes the rename itself durable. Some platforms (Windows) cannot open directories; that is not an error.
    private static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // best effort
        }
    }
}
