package org.catonnx.runtime.bench;

import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.nn.GraphOptions;
import org.catonnx.models.ModelConfig;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.RandomInit;
import org.catonnx.nn.AttentionForm;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.TensorData;
import org.catonnx.runtime.ModelSession;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.SessionConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Peak memory of one full forward pass with the efficient vs the dense-mask CAT attention.
 * Each form runs in a fresh JVM so the process's peak resident set (VmHWM) belongs to it alone;
 * a baseline child that only builds and loads the graph is subtracted.
 */
public final class AttentionMemoryProbe {
    private AttentionMemoryProbe() {}

    public static ModelSpec spec(int length, int chunk) {
        ModelConfig dec = new ModelConfig.Builder().blockSize(length).vocabSize(512).nLayer(2).nHead(8).dim(256).chunkSize(chunk).dimFx(256).build();
        ModelConfig comp = new ModelConfig.Builder().blockSize(length).vocabSize(512).nLayer(1).nHead(4).dim(128).chunkSize(chunk).dimFx(256).build();
        return ModelSpec.cat(dec, comp);
    }

    /** Child entry point: args = form, length, chunk, run (true/false). Prints "peak_kib=N". */
    public static void main(String[] args) throws IOException {
        AttentionForm form = AttentionForm.parse(args[0]);
        int length = Integer.parseInt(args[1]), chunk = Integer.parseInt(args[2]);
        boolean run = Boolean.parseBoolean(args[3]);
        ModelSpec spec = spec(length, chunk);
        byte[] model = new OnnxModel(ForwardGraphs.forward(spec, new RandomInit(spec, 0), chunk,
                GraphOptions.defaults().withAttentionForm(form))).toBytes();
        try (ModelSession s = OrtRuntime.get().open(model, SessionConfig.defaults().withIntraOpThreads(1))) {
            if (run) {
                long[] ids = new long[length];
                Random r = new Random(0);
                for (int i = 0; i < length; i++) ids[i] = r.nextInt(512);
                s.run(Map.of(ForwardGraphs.INPUT_IDS, TensorData.ofLongs(ids, 1, length)));
            }
        }
        System.out.println("peak_kib=" + peakKib());
    }

    static long peakKib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        throw new IOException("no VmHWM in /proc/self/status (Linux only)");
    }

    /** Runs the children; returns {baseline, efficient, masked} peak KiB. */
    public static long[] measure(int length, int chunk) throws IOException, InterruptedException {
        return new long[] {child("efficient", length, chunk, false), child("efficient", length, chunk, true), child("masked", length, chunk, true)};
    }

    private static long child(String form, int length, int chunk, boolean run) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx2g", "-cp", System.getProperty("java.class.path"),
                AttentionMemoryProbe.class.getName(), form, Integer.toString(length), Integer.toString(chunk), Boolean.toString(run)));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) throw new IOException("memory probe failed: " + out);
        for (String line : out.split("\n")) if (line.startsWith("peak_kib=")) return Long.parseLong(line.substring(9).trim());
        throw new IOException("memory probe printed no peak: " + out);
    }
}
