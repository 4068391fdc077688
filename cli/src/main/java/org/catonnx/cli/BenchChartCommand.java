package org.catonnx.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.catonnx.runtime.bench.GenerationBenchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Draws the throughput / cache-memory chart from the JSON of several `bench --json` runs: on a GPU
 * each model runs in its own process (so its peak memory is its own), which leaves one JSON file
 * per model rather than one run's rows.
 */
@Command(name = "bench-chart", mixinStandardHelpOptions = true,
        description = "Chart of generation throughput and cache memory against chunk size from the JSON output of "
                + "one or more `cat-export bench --json` runs (dense rows become reference lines).")
final class BenchChartCommand implements Callable<Integer> {
    @Option(names = {"-o", "--output"}, required = true, paramLabel = "PNG", description = "chart file to write")
    Path output;
    @Parameters(arity = "1..*", paramLabel = "JSON", description = "files written by bench --json")
    List<Path> inputs;

    @Override
    public Integer call() throws Exception {
        ObjectMapper m = new ObjectMapper();
        List<GenerationBenchmark.Row> rows = new ArrayList<>();
        for (Path p : inputs) {
            JsonNode arr = m.readTree(p.toFile());
            if (arr == null || !arr.isArray()) throw new IllegalArgumentException(p + ": not the JSON array bench --json prints");
            for (JsonNode r : arr) {
                for (String f : new String[] {"model", "chunk", "batch", "mode", "new_tokens", "seconds", "cache_bytes"}) {
                    if (!r.hasNonNull(f)) throw new IllegalArgumentException(p + ": a row without '" + f + "'");
                }
                rows.add(new GenerationBenchmark.Row(r.get("model").asText(), r.get("chunk").asInt(), r.get("batch").asInt(),
                        r.get("mode").asText(), r.get("new_tokens").asInt(), r.get("seconds").asDouble(), r.get("cache_bytes").asLong()));
            }
        }
        BenchChart.write(rows, output);
        System.out.println(rows.size() + " rows from " + inputs.size() + " files; chart written to " + output);
        return 0;
    }
}
