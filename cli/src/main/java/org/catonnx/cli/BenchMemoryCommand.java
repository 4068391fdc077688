package org.catonnx.cli;

import org.catonnx.runtime.bench.AttentionMemoryProbe;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "bench-memory", mixinStandardHelpOptions = true,
        description = "Peak memory of one full forward pass with the efficient CAT attention vs the dense-mask form "
                + "(each in a fresh JVM; the peak of a child that only loads the graph is subtracted).")
final class BenchMemoryCommand implements Callable<Integer> {
    @Option(names = "--length", defaultValue = "2048", description = "input length (default: ${DEFAULT-VALUE})")
    int length;
    @Option(names = "--chunk", defaultValue = "8", description = "chunk size (default: ${DEFAULT-VALUE})")
    int chunk;

    @Override
    public Integer call() throws Exception {
        System.err.println("[bench-memory] model: " + AttentionMemoryProbe.spec(length, chunk) + ", batch 1, length " + length);
        long[] kib = AttentionMemoryProbe.measure(length, chunk);
        double eff = (kib[1] - kib[0]) / 1024.0, masked = (kib[2] - kib[0]) / 1024.0;
        System.out.printf(Locale.ROOT, "%-22s %14s%n", "attention form", "peak MiB (run)");
        System.out.printf(Locale.ROOT, "%-22s %14.1f%n", "efficient", eff);
        System.out.printf(Locale.ROOT, "%-22s %14.1f%n", "masked (N x N)", masked);
        System.out.printf(Locale.ROOT, "masked / efficient: %.1fx (process peaks: load only %.0f MiB, efficient %.0f MiB, masked %.0f MiB)%n",
                masked / eff, kib[0] / 1024.0, kib[1] / 1024.0, kib[2] / 1024.0);
        return 0;
    }
}
