package org.catonnx.cli;

import org.catonnx.exporter.checkpoint.SafetensorsFile;
import org.catonnx.runtime.train.TokenShards;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.catonnx.cli.BundleCommandsTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** cat-export train end to end: a few steps, a checkpoint, a resume that continues, the trained weights exported. */
class TrainCommandTest {
    @TempDir
    Path dir;

    @Test
    void trainsCheckpointsAndResumes() throws Exception {
        int[] tokens = new int[20_000];
        Random r = new Random(3);
        for (int i = 0; i < tokens.length; i++) tokens[i] = r.nextInt(256);
        Path train = dir.resolve("train.bin"), val = dir.resolve("val.bin");
        TokenShards.write(train, tokens, TokenShards.TokenType.UINT16);
        TokenShards.write(val, java.util.Arrays.copyOf(tokens, 4_000), TokenShards.TokenType.UINT16);
        Path out = dir.resolve("run");
        String[] common = {"train", "--preset", "tiny-dense", "--train-data", train.toString(), "--val-data", val.toString(),
                "--batch", "2", "--seq-len", "32", "--eval-every", "2", "--eval-windows", "4", "--checkpoint-every", "2", "--out", out.toString()};
        BundleCommandsTest.Run first = run(concat(common, "--steps", "4"));
        assertEquals(0, first.code(), first.out() + first.err());
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")), "trained weights exported");
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("model.safetensors"))) {
            assertTrue(f.contains("wte.weight") && f.contains("layers.1.feed_forward.proj.weight"), "reference parameter names");
        }
        BundleCommandsTest.Run resumed = run(concat(common, "--steps", "6", "--resume"));
        assertEquals(0, resumed.code(), resumed.out() + resumed.err());
        assertTrue((resumed.out() + resumed.err()).contains("step 6"), resumed.out() + resumed.err());

        BundleCommandsTest.Run bad = run("train", "--preset", "tiny-dense", "--train-data", dir.resolve("missing.bin").toString(),
                "--steps", "1", "--out", dir.resolve("x").toString());
        assertEquals(CatExport.BAD_INPUT, bad.code());
        assertTrue(bad.err().contains("missing.bin"), bad.err());
    }

    private static String[] concat(String[] a, String... b) {
        String[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
