package org.catonnx.runtime.train;

import org.catonnx.exporter.checkpoint.SafetensorsFile;
import org.catonnx.graphs.TrainingGraphs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** A training process killed (SIGKILL) at random moments while it checkpoints every step leaves only complete checkpoints. */
class CheckpointKillTest {
    @Test
    void killedTrainingLeavesOnlyCompleteCheckpoints(@TempDir Path dir) throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Random r = new Random(42);
        long lastStep = 0;
        List<Long> stepsAtKill = new ArrayList<>();
        for (int round = 0; round < 4; round++) {
            Process p = new ProcessBuilder(java.toString(), "-Xmx1g", "-cp", cp, TrainChild.class.getName(), dir.toString())
                    .redirectErrorStream(true).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            // wait for the first checkpoint of this round, then kill at a random moment of the following writes
            String line;
            StringBuilder log = new StringBuilder();
            while ((line = out.readLine()) != null) {
                log.append(line).append('\n');
                if (line.startsWith("checkpoint")) break;
            }
            if (line == null) fail("child exited before checkpointing:\n" + log);
            Thread.sleep(50 + r.nextInt(700));
            p.destroyForcibly();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            long step = check(dir);
            stepsAtKill.add(step);
            assertTrue(step > lastStep, "round " + round + ": newest checkpoint step " + step + " after " + lastStep + "\n" + log);
            lastStep = step;
        }
        System.out.println("killed 4 times; newest checkpoint steps " + stepsAtKill);
    }

    /** Every checkpoint file present opens completely; returns the newest step. */
    private static long check(Path dir) throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.collect(Collectors.toList());
        }
        List<Path> ckpts = Trainer.checkpoints(dir);
        assertFalse(ckpts.isEmpty(), "no checkpoint in " + files);
        for (Path f : files) {
            String n = f.getFileName().toString();
            boolean temp = n.startsWith(".ckpt-") && n.endsWith(".tmp");
            assertTrue(ckpts.contains(f) || temp, "unexpected file " + n);
        }
        for (Path c : ckpts) {
            try (SafetensorsFile f = SafetensorsFile.open(c)) {
                assertEquals(Trainer.FORMAT, f.metadata().get("format"));
                assertEquals(Trainer.stepOf(c), Long.parseLong(f.metadata().get("step")));
                int params = 0;
                for (String n : f.names()) {
                    f.tensor(n).toFloats(); // every byte readable
                    if (!n.startsWith(TrainingGraphs.M_PREFIX) && !n.startsWith(TrainingGraphs.V_PREFIX)) {
                        params++;
                        assertTrue(f.contains(TrainingGraphs.M_PREFIX + n) && f.contains(TrainingGraphs.V_PREFIX + n), n);
                    }
                }
                assertTrue(params > 10, c + " holds " + params + " parameters");
                assertEquals(Files.size(c), f.dataStart() + f.names().stream().mapToLong(n -> f.info(n).byteSize()).sum());
            }
        }
        assertTrue(ckpts.size() <= 3, "more checkpoints than kept: " + ckpts);
        return Trainer.stepOf(ckpts.get(0));
    }
}
