package org.catonnx.exporter.checkpoint;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.catonnx.exporter.io.AtomicFiles;
import org.catonnx.onnx.TensorData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicWriteTest {
    @TempDir
    Path dir;

    private List<String> listing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    @Test
    void failingWriteLeavesPreviousFileAndNoTemporaries() throws IOException {
        Path target = dir.resolve("model.safetensors");
        SafetensorsWriter.write(target, Map.of("a", TensorData.ofFloats(new float[] {1, 2}, 2)));
        byte[] before = Files.readAllBytes(target);

        IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(target, tmp -> {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                out.write(new byte[1000]);
                throw new IOException("disk full midway");
            }
        }));
        assertEquals("disk full midway", e.getMessage());
        assertThrows(IllegalStateException.class, () -> AtomicFiles.write(target, tmp -> {
            Files.write(tmp, new byte[10]);
            throw new IllegalStateException("bug");
        }));
        // The writer rejects a bad entry that comes after valid ones.
        Map<String, TensorData> bad = new LinkedHashMap<>();
        bad.put("ok", TensorData.ofFloats(new float[] {3}, 1));
        bad.put("", TensorData.ofFloats(new float[] {4}, 1));
        assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(target, bad));

        assertArrayEquals(before, Files.readAllBytes(target));
        assertEquals(List.of("model.safetensors"), listing());
    }

    @Test
    void successfulWriteReplacesTargetWithOrdinaryPermissions() throws IOException {
        Path target = dir.resolve("x.bin");
        Files.write(target, new byte[] {1, 2, 3});
        AtomicFiles.write(target, tmp -> Files.write(tmp, new byte[] {9}));
        assertArrayEquals(new byte[] {9}, Files.readAllBytes(target));
        assertEquals(List.of("x.bin"), listing());
        if (FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            Path plain = Files.createFile(dir.resolve("plain"));
            assertEquals(PosixFilePermissions.toString(Files.getPosixFilePermissions(plain)),
                    PosixFilePermissions.toString(Files.getPosixFilePermissions(target)));
        }
    }

    @Test
    void directoryWrites() throws IOException {
        Path target = dir.resolve("bundle");
        AtomicFiles.writeDirectory(target, tmp -> Files.writeString(tmp.resolve("v"), "1"));
        assertEquals("1", Files.readString(target.resolve("v")));

        assertThrows(IOException.class, () -> AtomicFiles.writeDirectory(target, tmp -> {
            Files.createDirectories(tmp.resolve("sub"));
            Files.writeString(tmp.resolve("sub/partial"), "x");
            throw new IOException("failed midway");
        }));
        assertEquals("1", Files.readString(target.resolve("v")));
        assertEquals(List.of("bundle"), listing());

        AtomicFiles.writeDirectory(target, tmp -> {
            Files.writeString(tmp.resolve("w"), "2");
            Files.createDirectories(tmp.resolve("sub"));
            Files.writeString(tmp.resolve("sub/f"), "3");
        });
        assertFalse(Files.exists(target.resolve("v")));
        assertEquals("2", Files.readString(target.resolve("w")));
        assertEquals("3", Files.readString(target.resolve("sub/f")));
        assertEquals(List.of("bundle"), listing());
    }
}
