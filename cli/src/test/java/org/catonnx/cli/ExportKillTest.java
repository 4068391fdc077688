package org.catonnx.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.catonnx.exporter.bundle.Bundle;
import org.catonnx.exporter.io.AtomicFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Crash safety of {@code cat-export export}: a child JVM replacing an existing bundle is killed
 * (SIGKILL) at random moments. Afterwards the target is always a complete bundle that opens and
 * verifies, and is either the previous one (seed 1) or the new one (seed 2), never a mixture;
 * what the dead process left are hidden {@code .<name>.<pid>-*.tmp/.old} siblings, which the next
 * export removes (or, if the kill fell between its two renames, moves back into place).
 * Training's counterpart: runtime CheckpointKillTest.
 */
class ExportKillTest {
    static final int ROUNDS = Integer.getInteger("catonnx.exportKill.rounds", 6);

    @Test
    void killedExportLeavesThePreviousOrTheNewBundle(@TempDir Path root) throws Exception {
        Path work = Files.createDirectories(root.resolve("work"));
        Path target = work.resolve("model");
        Path pristine = root.resolve("previous");
        Path fresh = root.resolve("new");
        assertEquals(0, CatExport.commandLine().execute("export", "--preset", "tiny-dense", "--seed", "1", "-o", pristine.toString(), "--no-verify"));
        // one complete child run: the reference for "the new bundle" and the number of progress lines to aim kills at
        Child full = Child.start(fresh, "export", "--preset", "tiny-dense", "--seed", "2", "-o", fresh.toString(), "--force");
        long t0 = System.nanoTime();
        int lines = full.drain();
        assertEquals(0, full.process.waitFor(), full.log.toString());
        long fullMs = (System.nanoTime() - t0) / 1_000_000;
        List<String> newFiles = fileHashes(fresh), oldFiles = fileHashes(pristine);

        Random r = new Random(Long.getLong("catonnx.exportKill.seed", 7));
        int previous = 0, replaced = 0, restored = 0;
        List<String> kills = new ArrayList<>();
        for (int round = 0; round < ROUNDS; round++) {
            AtomicFiles.deleteRecursively(target);
            copy(pristine, target);
            int waitLines = r.nextInt(lines + 1);
            int delay = r.nextInt(250);
            Child c = Child.start(target, "export", "--preset", "tiny-dense", "--seed", "2", "-o", target.toString(), "--force");
            c.awaitLines(waitLines);
            Thread.sleep(delay);
            boolean alive = c.process.isAlive();
            c.process.destroyForcibly();
            assertTrue(c.process.waitFor(30, TimeUnit.SECONDS));
            kills.add(waitLines + " lines + " + delay + " ms" + (alive ? "" : " (had finished)"));

            // what the killed process left: only hidden temporaries of this target
            for (String n : names(work)) {
                if (n.equals("model")) continue;
                assertTrue(n.matches("\\.model\\.\\d+-[0-9a-f]+\\.(tmp|old)"), "round " + round + ": unexpected leftover " + n);
            }
            if (!Files.exists(target)) {
                // killed between moving the old bundle aside and moving the new one in: the next export puts it back
                assertTrue(AtomicFiles.recoverDirectory(target), "round " + round + ": target missing and nothing to restore");
                restored++;
            }
            try (Bundle b = Bundle.open(target)) {
                long seed = b.manifest().path("provenance").path("seed").asLong(-1);
                List<String> files = fileHashes(target);
                if (seed == 1) {
                    assertEquals(oldFiles, files, "round " + round);
                    previous++;
                } else {
                    assertEquals(2, seed, "round " + round);
                    assertEquals(newFiles, files, "round " + round);
                    replaced++;
                }
            }
            // the next export starts by removing the dead process's temporaries
            AtomicFiles.recoverDirectory(target);
            assertEquals(List.of("model"), names(work), "round " + round + ": temporaries left after recovery");
        }
        System.out.printf("export killed %d times (a full export takes %d ms, %d progress lines): %d left the previous bundle, "
                + "%d the new one, %d restored from .old; kills at %s%n", ROUNDS, fullMs, lines, previous, replaced, restored, kills);
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    /** "path sha256" of every listed file (the manifest's own timestamp aside, this identifies a bundle). */
    private static List<String> fileHashes(Path bundle) throws IOException {
        try (Bundle b = Bundle.open(bundle)) {
            List<String> out = new ArrayList<>();
            for (JsonNode f : b.manifest().get("files")) out.add(f.get("path").asText() + " " + f.get("sha256").asText());
            return out;
        }
    }

    private static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.collect(Collectors.toList())) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t); else Files.copy(p, t);
            }
        }
    }

    /** A child JVM running CatExport.main. */
    private static final class Child {
        final Process process;
        final BufferedReader out;
        final StringBuilder log = new StringBuilder();

        private Child(Process p) {
            this.process = p;
            this.out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        }

        static Child start(Path forLabel, String... args) throws IOException {
            String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx1g", "-cp", cp, CatExport.class.getName()));
            cmd.addAll(List.of(args));
            return new Child(new ProcessBuilder(cmd).redirectErrorStream(true).start());
        }

        int drain() throws IOException {
            int n = 0;
            for (String line; (line = out.readLine()) != null; n++) log.append(line).append('\n');
            return n;
        }

        void awaitLines(int n) throws IOException {
            for (int i = 0; i < n; i++) {
                String line = out.readLine();
                if (line == null) return;
                log.append(line).append('\n');
            }
        }
    }
}
