package org.catonnx.cli;

import org.catonnx.exporter.checkpoint.Checkpoint;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Presets;
import org.catonnx.models.RandomInit;
import org.catonnx.nn.WeightSource;
import org.catonnx.runtime.Device;
import org.catonnx.runtime.SessionConfig;
import org.catonnx.runtime.train.TokenShards;
import org.catonnx.runtime.train.TrainConfig;
import org.catonnx.runtime.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a model with ONNX Runtime on binary token shards (nanoGPT-style flat uint16/uint32 .bin files): "
                + "AdamW training-step graphs, warmup + cosine schedule, held-out evaluation, atomic checkpoints with "
                + "optimizer state, exact resume. Writes OUT/ckpt-<step>.safetensors, OUT/model.safetensors and OUT/config.json.")
final class TrainCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", description = "model config.json (golden format)")
    Path config;

    @Option(names = "--preset", paramLabel = "NAME", description = "a named model shape instead of --config (e.g. tiny-dense, tiny-cat, tiny-adaptive)")
    String preset;

    @Option(names = "--init-checkpoint", paramLabel = "FILE", description = "initial weights (safetensors, reference names); default: reference initialisation from --seed")
    Path initCheckpoint;

    @Option(names = "--train-data", split = ",", paramLabel = "PATH", description = "token files or directories of *.bin files")
    List<Path> trainData;

    @Option(names = "--val-data", split = ",", paramLabel = "PATH", description = "held-out token files or directories")
    List<Path> valData;

    @Option(names = "--token-dtype", defaultValue = "uint16", description = "uint16 or uint32 (default: ${DEFAULT-VALUE})")
    String tokenDtype;

    @Option(names = "--steps", defaultValue = "1000") int steps;
    @Option(names = "--batch", defaultValue = "8", description = "windows per micro-batch") int batch;
    @Option(names = "--seq-len", defaultValue = "0", description = "tokens per window (default: the model's block size)") int seqLen;
    @Option(names = "--lr", defaultValue = "1e-3") double lr;
    @Option(names = "--schedule", defaultValue = "cosine", description = "cosine or constant (both after --warmup)") String schedule;
    @Option(names = "--min-lr-ratio", defaultValue = "0.1", description = "final cosine lr as a fraction of --lr") double minLrRatio;
    @Option(names = "--warmup", defaultValue = "0", description = "linear warmup steps") int warmup;
    @Option(names = "--weight-decay", defaultValue = "0.1") double weightDecay;
    @Option(names = "--beta2", defaultValue = "0.95") double beta2;
    @Option(names = "--clip", defaultValue = "1.0", description = "max global gradient norm, 0 = off") double clip;
    @Option(names = "--accumulate", defaultValue = "1", description = "micro-batches per optimizer step") int accumulate;
    @Option(names = "--eval-every", defaultValue = "0", description = "evaluate on --val-data every N steps") int evalEvery;
    @Option(names = "--eval-windows", defaultValue = "32", description = "held-out windows per evaluation") int evalWindows;
    @Option(names = "--checkpoint-every", defaultValue = "0", description = "checkpoint every N steps (always at the end)") int checkpointEvery;
    @Option(names = "--keep", defaultValue = "2", description = "checkpoints to keep") int keep;
    @Option(names = "--out", required = true, paramLabel = "DIR") Path out;
    @Option(names = "--resume", arity = "0..1", fallbackValue = "", paramLabel = "CKPT",
            description = "continue from a checkpoint file, or the newest in --out; the stored configuration is used (--steps may extend it)")
    String resume;
    @Option(names = "--seed", defaultValue = "1234") long seed;
    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or auto") String device;
    @Option(names = "--threads", defaultValue = "0", description = "ONNX Runtime intra-op threads, 0 = default") int threads;
    @Option(names = "--chunk-powers", split = ",", paramLabel = "P",
            description = "adaptive CAT: train chunk sizes 2^P (e.g. 1,2,3); below the trained chunk size f.proj_fx.weight is not updated")
    int[] chunkPowers;
    @Option(names = "--chunk-order", defaultValue = "random", description = "random or round-robin") String chunkOrder;
    @Option(names = "--no-check-ids", description = "skip checking every token id against the vocabulary") boolean noCheckIds;

    @Override
    public Integer call() throws Exception {
        if (trainData == null || trainData.isEmpty()) throw new IllegalArgumentException("--train-data is required");
        TokenShards.TokenType type = TokenShards.TokenType.parse(tokenDtype);
        TokenShards train = TokenShards.open(trainData, type);
        TokenShards val = valData == null || valData.isEmpty() ? null : TokenShards.open(valData, type);
        SessionConfig sc = SessionConfig.defaults().withDevice(Device.parse(device)).withIntraOpThreads(threads);
        long t0 = System.nanoTime();
        Trainer t;
        if (resume != null) {
            Path from = resume.isEmpty() ? out : Path.of(resume);
            t = Trainer.resume(from, train, val, sc, out, explicitSteps() ? steps : 0);
            System.out.println("resumed " + from + " at step " + t.step() + ": " + t.spec() + "; " + t.config());
        } else {
            if ((config == null) == (preset == null)) throw new IllegalArgumentException("give exactly one of --config and --preset");
            ModelSpec spec = config != null ? ModelSpec.load(config) : Presets.get(preset, 0);
            TrainConfig c = new TrainConfig();
            c.steps = steps;
            c.batch = batch;
            c.seqLen = seqLen > 0 ? seqLen : spec.blockSize();
            c.accumulate = accumulate;
            c.lr = lr;
            c.schedule = TrainConfig.Schedule.parse(schedule);
            c.minLrRatio = minLrRatio;
            c.warmup = warmup;
            c.weightDecay = weightDecay;
            c.beta2 = beta2;
            c.clip = clip;
            c.evalEvery = evalEvery;
            c.evalWindows = evalWindows;
            c.checkpointEvery = checkpointEvery;
            c.keepCheckpoints = keep;
            c.seed = seed;
            c.chunkPowers = chunkPowers == null ? new int[0] : chunkPowers;
            c.chunkOrder = TrainConfig.ChunkOrder.parse(chunkOrder);
            c.checkIds = !noCheckIds;
            c.validate();
            if (initCheckpoint != null) {
                try (Checkpoint init = Checkpoint.open(initCheckpoint)) {
                    t = Trainer.create(spec, init, c, train, val, sc, out);
                }
            } else {
                WeightSource init = new RandomInit(spec, seed);
                t = Trainer.create(spec, init, c, train, val, sc, out);
            }
            System.out.println("training " + spec + ", " + t.parameterCount() + " parameters; " + c);
        }
        try (Trainer tr = t) {
            System.out.printf("data: train %s%s; graphs for chunk sizes %s built in %.1f s%n", train,
                    val == null ? "" : ", held-out " + val, java.util.Arrays.toString(tr.chunkSizes()), (System.nanoTime() - t0) / 1e9);
            double evalBefore = Double.NaN;
            if (val != null && tr.step() == 0) {
                evalBefore = tr.evaluate();
                System.out.printf("step %6d  eval loss %.4f%n", 0, evalBefore);
            }
            double[] tokens = new double[2];
            double[] lastEval = {evalBefore};
            long start = System.nanoTime();
            int firstStep = tr.step();
            tr.train(new Trainer.Listener() {
                @Override
                public void onStep(Trainer.StepInfo s) {
                    tokens[0] += s.tokens();
                    System.out.printf(Locale.ROOT, "step %6d/%d  loss %.4f  grad_norm %.3f  lr %.2e%s  %.0f tokens/s%n", s.step(), s.steps(), s.loss(),
                            s.gradNorm(), s.lr(), s.chunk() > 0 ? "  chunk " + s.chunk() : "", s.tokensPerSecond());
                }

                @Override
                public void onEval(int step, double loss) {
                    lastEval[0] = loss;
                    System.out.printf(Locale.ROOT, "step %6d  eval loss %.4f%n", step, loss);
                }

                @Override
                public void onCheckpoint(int step, Path file) {
                    System.out.println("step " + step + "  checkpoint " + file);
                }
            });
            double secs = (System.nanoTime() - start) / 1e9;
            tr.exportModel(out.resolve("model.safetensors"), out.resolve("config.json"));
            System.out.printf(Locale.ROOT, "done: %d steps (%d this run) in %.1f s, %.0f tokens/s; final train loss %.4f%s; weights %s, config %s%n",
                    tr.step(), tr.step() - firstStep, secs, tokens[0] / Math.max(secs, 1e-9), tr.lastLoss(),
                    Double.isNaN(lastEval[0]) ? "" : String.format(Locale.ROOT, ", eval loss %s%.4f",
                            Double.isNaN(evalBefore) ? "" : String.format(Locale.ROOT, "%.4f -> ", evalBefore), lastEval[0]),
                    out.resolve("model.safetensors"), out.resolve("config.json"));
        }
        return 0;
    }

    private boolean explicitSteps() {
        return spec != null && spec.commandLine().getParseResult().hasMatchedOption("--steps");
    }

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;
}
