package org.catonnx.cli;

import org.catonnx.models.ModelSpec;
import org.catonnx.models.Presets;
import org.catonnx.models.RandomInit;
import org.catonnx.runtime.Device;
import org.catonnx.runtime.SessionConfig;
import org.catonnx.runtime.train.TokenShards;
import org.catonnx.runtime.train.TrainConfig;
import org.catonnx.runtime.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;

@Command(name = "bench-train", mixinStandardHelpOptions = true,
        description = "Training throughput (tokens/s of full AdamW steps) of presets on random tokens, in one table with ratios to the first model.")
final class BenchTrainCommand implements Callable<Integer> {
    @Option(names = "--models", split = ",", defaultValue = "tiny-dense,tiny-cat", description = "presets (default: ${DEFAULT-VALUE})")
    List<String> models;
    @Option(names = "--steps", defaultValue = "20", description = "timed steps") int steps;
    @Option(names = "--warmup-steps", defaultValue = "3", description = "untimed steps first") int warmupSteps;
    @Option(names = "--batch", defaultValue = "8") int batch;
    @Option(names = "--seq-len", defaultValue = "0", description = "default: each model's block size") int seqLen;
    @Option(names = "--device", defaultValue = "cpu") String device;
    @Option(names = "--threads", defaultValue = "0") int threads;

    @Override
    public Integer call() throws Exception {
        SessionConfig sc = SessionConfig.defaults().withDevice(Device.parse(device)).withIntraOpThreads(threads);
        List<String[]> rows = new ArrayList<>();
        double base = 0;
        for (String name : models) {
            ModelSpec spec = Presets.get(name, 0);
            int T = seqLen > 0 ? seqLen : spec.blockSize();
            int[] tokens = new int[Math.max(4096, (T + 1) * batch * 4)];
            Random r = new Random(1);
            for (int i = 0; i < tokens.length; i++) tokens[i] = r.nextInt(spec.vocabSize());
            TrainConfig c = new TrainConfig();
            c.steps = warmupSteps + steps;
            c.batch = batch;
            c.seqLen = T;
            c.lr = 1e-4;
            c.checkIds = false;
            try (Trainer t = Trainer.create(spec, new RandomInit(spec, 1), c,
                    TokenShards.of("random", tokens, spec.vocabSize() <= 65536 ? TokenShards.TokenType.UINT16 : TokenShards.TokenType.UINT32),
                    null, sc, null)) {
                t.train(warmupSteps, s -> { });
                long t0 = System.nanoTime();
                t.train(s -> { });
                double secs = (System.nanoTime() - t0) / 1e9;
                double tps = (double) c.tokensPerStep() * steps / secs;
                if (base == 0) base = tps;
                rows.add(new String[] {name, spec.toString(), String.format(Locale.ROOT, "%.2fM", t.parameterCount() / 1e6),
                        batch + "x" + T, String.format(Locale.ROOT, "%.1f", secs * 1000 / steps), String.format(Locale.ROOT, "%.0f", tps),
                        String.format(Locale.ROOT, "%.2f", tps / base)});
                System.err.printf("%s: %.0f tokens/s%n", name, tps);
            }
        }
        System.out.printf("training throughput, %s, %d timed steps after %d warmup steps, AdamW step graph (float32)%n", device, steps, warmupSteps);
        System.out.printf("%-14s %-58s %8s %8s %9s %10s %8s%n", "model", "shape", "params", "batch", "ms/step", "tokens/s", "ratio");
        for (String[] row : rows) System.out.printf("%-14s %-58s %8s %8s %9s %10s %8s%n", (Object[]) row);
        return 0;
    }
}
