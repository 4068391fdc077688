package org.catonnx.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.catonnx.runtime.CustomOps;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.catonnx.cli.BundleCommandsTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * examples/python/bound_generate.py (stock ONNX Runtime, IO binding, no cat-onnx code) generates
 * what our step decoder does from the same bundle. Skipped where python3 with onnxruntime and
 * numpy is not installed.
 */
class PythonBoundExampleTest {
    private static final Path SCRIPT = Path.of("..", "examples", "python", "bound_generate.py").toAbsolutePath().normalize();

    @TempDir
    static Path dir;

    /** The custom form (our operators) runs too, with our CPU library registered in Python's ONNX Runtime. */
    @ParameterizedTest
    @CsvSource({"tiny-cat,efficient", "tiny-dense,efficient", "tiny-cat,custom", "tiny-dense,custom"})
    void pythonIoBindingGeneratesWhatTheStepDecoderDoes(String preset, String attention) throws Exception {
        Assumptions.assumeTrue(Files.isRegularFile(SCRIPT), "no " + SCRIPT);
        Assumptions.assumeTrue(exec(List.of("python3", "-c", "import onnxruntime, numpy")).code == 0, "python3 with onnxruntime and numpy not installed");
        boolean custom = attention.equals("custom");
        Assumptions.assumeTrue(!custom || CustomOps.cpuAvailable(), "native library not built");
        Path bundle = dir.resolve(preset + "-" + attention);
        BundleCommandsTest.Run e = run("export", "--preset", preset, "--attention", attention, "--fixed-step-batch", "3", "-o", bundle.toString());
        assertEquals(0, e.code(), e.out() + e.err());
        List<String> prompts = List.of("--ids", "1,2,3,4,5,6,7,8,9,10", "--ids", "9,8,7,6,5,4,3,2,1,0");
        List<String> py = new ArrayList<>(List.of("python3", SCRIPT.toString(), bundle.toString(), "--max-new-tokens", "21"));
        if (custom) py.addAll(List.of("--custom-ops-library", CustomOps.cpuLibrary().toString()));
        py.addAll(prompts);
        Result p = exec(py);
        assertEquals(0, p.code, p.out);
        List<String> java = new ArrayList<>(List.of("generate", bundle.toString(), "--max-new-tokens", "21", "--json"));
        java.addAll(prompts);
        BundleCommandsTest.Run j = run(java.toArray(new String[0]));
        assertEquals(0, j.code(), j.err());
        ObjectMapper m = new ObjectMapper();
        assertEquals(m.readTree(j.out()).get("results"), m.readTree(p.out).get("results"), "Python IO binding = Java step decoder");
    }

    private record Result(int code, String out) {}

    private static Result exec(List<String> cmd) throws IOException, InterruptedException {
        Process pr;
        try {
            pr = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            return new Result(-1, e.getMessage());   // no python3 on PATH
        }
        byte[] out = pr.getInputStream().readAllBytes();
        if (!pr.waitFor(120, TimeUnit.SECONDS)) {
            pr.destroyForcibly();
            return new Result(-1, "timed out");
        }
        return new Result(pr.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
