package org.catonnx.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchChartCommandTest {
    private static final String ROW = "{\"model\":\"%s\",\"chunk\":%d,\"batch\":4,\"mode\":\"loop\",\"new_tokens\":100,\"seconds\":%s,\"cache_bytes\":%d}";

    @Test
    void drawsTheChartFromSeveralBenchJsonFiles(@TempDir Path dir) throws Exception {
        Path dense = Files.writeString(dir.resolve("dense.json"), "[" + String.format(ROW, "dense", 0, "2.0", 4_000_000L) + "]");
        Path cat = Files.writeString(dir.resolve("cat.json"), "[" + String.format(ROW, "cat", 8, "1.0", 1_000_000L) + ","
                + String.format(ROW, "cat", 16, "0.8", 600_000L) + "]");
        Path png = dir.resolve("chart.png");
        int rc = CatExport.commandLine().execute("bench-chart", "-o", png.toString(), dense.toString(), cat.toString());
        assertEquals(0, rc);
        byte[] b = Files.readAllBytes(png);
        assertTrue(b.length > 1000 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G', "a PNG file");
    }

    @Test
    void refusesJsonThatIsNotBenchOutput(@TempDir Path dir) throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.json"), "[{\"model\":\"cat\"}]");
        Path png = dir.resolve("chart.png");
        int rc = CatExport.commandLine().execute("bench-chart", "-o", png.toString(), bad.toString());
        assertEquals(CatExport.BAD_INPUT, rc);
        assertTrue(Files.notExists(png));
    }
}
