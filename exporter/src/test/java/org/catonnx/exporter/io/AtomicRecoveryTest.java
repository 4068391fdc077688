package org.catonnx.exporter.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a killed {@link AtomicFiles#writeDirectory} leaves is recovered by the next one: the
 * previous version comes back if the kill fell between the two renames, temporaries of dead
 * processes go, those of running processes stay. (Killing a real export: cli ExportKillTest.)
 */
class AtomicRecoveryTest {
    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        return p.pid();
    }

    private static List<String> names(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    @Test
    void killBetweenTheTwoRenamesIsUndone(@TempDir Path dir) throws Exception {
        long dead = deadPid();
        Path old = Files.createDirectory(dir.resolve(".model." + dead + "-1a2b.old"));
        Files.writeString(old.resolve("manifest.json"), "previous");
        Path tmp = Files.createDirectory(dir.resolve(".model." + dead + "-3c4d.tmp"));
        Files.writeString(tmp.resolve("manifest.json"), "new, complete but never moved in");
        Path target = dir.resolve("model");
        assertTrue(AtomicFiles.recoverDirectory(target));
        assertEquals("previous", Files.readString(target.resolve("manifest.json")));
        assertEquals(List.of("model"), names(dir));
    }

    @Test
    void temporariesOfRunningProcessesAndOtherFilesStay(@TempDir Path dir) throws Exception {
        Process running = new ProcessBuilder("sleep", "30").start();
        try {
            Path target = Files.createDirectory(dir.resolve("model"));
            Files.createDirectory(dir.resolve(".model." + running.pid() + "-aa.tmp"));
            Files.createDirectory(dir.resolve(".model." + deadPid() + "-bb.tmp"));
            Files.createDirectory(dir.resolve(".model.old-style.tmp"));          // no pid: not ours to judge
            Files.createDirectory(dir.resolve(".model2." + deadPid() + "-cc.tmp")); // another target's
            assertFalse(AtomicFiles.recoverDirectory(target));
            assertEquals(List.of(".model." + running.pid() + "-aa.tmp", ".model.old-style.tmp", ".model2." + names(dir).stream()
                    .filter(n -> n.startsWith(".model2.")).findFirst().orElseThrow().substring(8), "model"), names(dir));
        } finally {
            running.destroyForcibly();
        }
    }

    @Test
    void writeDirectoryCleansUpFirst(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("model");
        Files.createDirectory(dir.resolve(".model." + deadPid() + "-dd.tmp"));
        AtomicFiles.writeDirectory(target, t -> Files.writeString(t.resolve("x"), "1"));
        assertEquals(List.of("model"), names(dir));
    }
}
