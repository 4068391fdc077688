package org.catonnx.runtime.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Node;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.TensorData;
import org.catonnx.onnx.Value;
import org.catonnx.runtime.ModelSession;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.SessionConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which provider ran each node, from ONNX Runtime's profiling trace of one run. ONNX Runtime
 * deliberately keeps small integer shape computations (Shape, Range, index arithmetic feeding
 * Reshape/Slice) on the CPU even with CUDA, so session.disable_cpu_ep_fallback=1 refuses every
 * graph with dynamic shapes; what matters for speed is that no floating-point work falls back.
 */
public final class PlacementCheck {
    private PlacementCheck() {}

    /** Nodes that ran on the CPU provider, by name, with whether any of their outputs is floating point. */
    public static final class Report {
        public final Map<String, String> cpuNodes = new TreeMap<>();
        public final List<String> floatingOnCpu = new ArrayList<>();
        public int nodesRun;

        @Override
        public String toString() {
            return nodesRun + " node runs; on CPU: " + cpuNodes.size() + " nodes (integer shape math), floating-point on CPU: " + floatingOnCpu;
        }
    }

    public static Report run(Graph g, Map<String, TensorData> feeds, SessionConfig cuda, Path traceDir) throws IOException {
        Map<String, Node> byName = new HashMap<>();
        collect(g, byName);
        Path trace;
        try (ModelSession s = OrtRuntime.get().open(new OnnxModel(g).toBytes(), cuda.withProfilingPrefix(traceDir.resolve(g.name())))) {
            s.run(feeds);
            trace = s.endProfiling().orElseThrow();
        }
        Report r = new Report();
        for (JsonNode e : new ObjectMapper().readTree(trace.toFile())) {
            if (!"Node".equals(e.path("cat").asText()) || !e.path("name").asText().endsWith("_kernel_time")) continue;
            r.nodesRun++;
            String provider = e.path("args").path("provider").asText();
            if (!provider.startsWith("CPU")) continue;
            String name = e.path("name").asText().replaceFirst("_kernel_time$", "");
            String op = e.path("args").path("op_name").asText();
            r.cpuNodes.put(name, op);
            Node n = byName.get(name);
            boolean floating = n == null ? !op.startsWith("Memcpy") : n.outputs.stream().filter(java.util.Objects::nonNull).map(Value::type).anyMatch(t -> t.isFloating());
            String entry = name + " (" + op + ")";   // once per node, however often a Loop ran it
            if (floating && !r.floatingOnCpu.contains(entry)) r.floatingOnCpu.add(entry);
        }
        Files.deleteIfExists(trace);
        return r;
    }

    private static void collect(Graph g, Map<String, Node> out) {
        for (Node n : g.nodes()) {
            out.put(n.name, n);
            for (Object a : n.attributes.values()) if (a instanceof Graph) collect((Graph) a, out);
        }
    }
}
