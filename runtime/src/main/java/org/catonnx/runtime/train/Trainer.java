package org.catonnx.runtime.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.catonnx.exporter.checkpoint.Checkpoint;
import org.catonnx.exporter.checkpoint.SafetensorsFile;
import org.catonnx.exporter.checkpoint.SafetensorsWriter;
import org.catonnx.exporter.io.AtomicFiles;
import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.nn.GraphOptions;
import org.catonnx.graphs.TrainingGraphs;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Variant;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.OnnxModel;
import org.catonnx.onnx.TensorData;
import org.catonnx.runtime.ModelSession;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.SessionConfig;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Trains a model with ONNX Runtime: one AdamW training-step graph per chunk size (built once, float32, parameters and
 * moments as graph inputs), parameters and moments kept in Java between steps.
 *
 * <ul>
 * <li>Gradient accumulation: the accumulate micro-batches of an optimizer step are fed as one batch of
 *     batch * accumulate windows. The loss is the mean over all tokens, and every window has seqLen labels, so the
 *     gradient is exactly the average of the micro-batch gradients (the memory of a big batch is not saved).</li>
 * <li>Weight decay applies to parameters of rank 2 or more (embeddings, linear weights), not to norm weights.</li>
 * <li>Adaptive CAT: each step trains one chunk size 2^p from {@link TrainConfig#chunkPowers}, picked by a seeded
 *     generator or round-robin. Below the trained chunk size the step graph resizes f.proj_fx.weight inside the
 *     graph (bilinear, as the reference), so every chunk size trains it; the bias correction uses the global step.</li>
 * <li>Checkpoints ({@code ckpt-<step>.safetensors} in the output directory) hold the parameters by the reference's
 *     names, adam.m.* and adam.v.*, and metadata (step, seed, generator states, windows drawn, train config, model
 *     config); they are written atomically and only the newest {@link TrainConfig#keepCheckpoints} are kept.
 *     {@link #resume} restores everything, so a resumed run computes the same parameters as an uninterrupted one.</li>
 * </ul>
 */
public final class Trainer implements AutoCloseable {
    public static final String FORMAT = "cat-onnx-train-1";
    public static final String CHECKPOINT_PREFIX = "ckpt-";
    public static final String CHECKPOINT_SUFFIX = ".safetensors";
    private static final Pattern CHECKPOINT_NAME = Pattern.compile("ckpt-(\\d+)\\.safetensors");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One finished optimizer step. */
    public record StepInfo(int step, int steps, double loss, double gradNorm, double lr, int chunk, long tokens,
                           double seconds, double tokensPerSecond) {}

    /** Progress callbacks: every step; evaluations and checkpoints optionally. */
    @FunctionalInterface
    public interface Listener {
        void onStep(StepInfo s);
        default void onEval(int step, double loss) {}
        default void onCheckpoint(int step, Path file) {}
    }

    private static final class StepGraph {
        final int chunk;
        final ModelSession session;
        final List<String> params;

        StepGraph(int chunk, ModelSession session, List<String> params) {
            this.chunk = chunk;
            this.session = session;
            this.params = params;
        }
    }

    private final ModelSpec spec;
    private final TrainConfig cfg;
    private final TokenShards train;
    private final TokenShards val;
    private final SessionConfig sessionConfig;
    private final Path outDir;
    private final GraphOptions options = GraphOptions.defaults();
    private final List<StepGraph> graphs = new ArrayList<>();
    private final Map<String, TensorData> params = new LinkedHashMap<>();
    private final Map<String, TensorData> m = new LinkedHashMap<>();
    private final Map<String, TensorData> v = new LinkedHashMap<>();
    private ModelSession evalSession;
    private List<String> evalParams;
    private int step;
    private final SplitMix64 dataRng;
    private final SplitMix64 chunkRng;
    private long windowsDrawn;
    private double lastLoss = Double.NaN;

    private Trainer(ModelSpec spec, WeightSource weights, TrainConfig cfg, TokenShards train, TokenShards val,
                    SessionConfig sc, Path outDir) throws IOException {
        this.spec = spec;
        this.cfg = cfg.copy().validate();
        this.train = train;
        this.val = val;
        this.sessionConfig = sc;
        this.outDir = outDir;
        this.dataRng = new SplitMix64(cfg.seed);
        this.chunkRng = new SplitMix64(cfg.seed ^ 0x6A09E667F3BCC909L);
        int[] chunks = chunkSizes(spec, this.cfg);
        checkData(train, "training", spec, this.cfg);
        if (val != null) checkData(val, "validation", spec, this.cfg);
        if (outDir != null) {
            Files.createDirectories(outDir);
            deleteStaleTemporaries(outDir);
        }
        try {
            for (int c : chunks) graphs.add(buildStep(weights, c));
        } catch (RuntimeException | IOException e) {
            close();
            throw e;
        }
    }

    /** A fresh run from initial weights (e.g. {@code new RandomInit(spec, seed)} or a {@link Checkpoint}). */
    public static Trainer create(ModelSpec spec, WeightSource init, TrainConfig cfg, TokenShards train, TokenShards val,
                                 SessionConfig sc, Path outDir) throws IOException {
        Trainer t = new Trainer(spec, init, cfg, train, val, sc, outDir);
        for (String n : t.params.keySet()) {
            TensorData p = t.params.get(n);
            t.m.put(n, zeros(p));
            t.v.put(n, zeros(p));
        }
        return t;
    }

    /**
     * Continues a run from a checkpoint file or the newest complete checkpoint in a directory, with the stored
     * configuration; {@code steps} > 0 replaces the total step count (a cosine schedule then changes its horizon).
     */
    public static Trainer resume(Path checkpointOrDir, TokenShards train, TokenShards val, SessionConfig sc, Path outDir,
                                 int steps) throws IOException {
        Path file = Files.isDirectory(checkpointOrDir) ? latestCheckpoint(checkpointOrDir)
                .orElseThrow(() -> new IOException(checkpointOrDir + ": no complete checkpoint (ckpt-*.safetensors)")) : checkpointOrDir;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, String> meta = f.metadata();
            if (!FORMAT.equals(meta.get("format"))) {
                throw new IOException(file + ": not a training checkpoint (metadata format is " + meta.get("format") + ", expected " + FORMAT + ")");
            }
            ModelSpec spec = ModelSpec.fromJson(JSON.readTree(meta.get("model")));
            TrainConfig cfg = TrainConfig.fromJson(JSON.readTree(meta.get("train_config")));
            if (steps > 0) cfg.steps = steps;
            Map<String, TensorData> stored = new LinkedHashMap<>();
            for (String n : f.names()) stored.put(n, heapCopy(f.tensor(n)));
            Trainer t = new Trainer(spec, WeightSource.of(stored), cfg, train, val, sc, outDir);
            for (String n : t.params.keySet()) {
                t.m.put(n, require(stored, TrainingGraphs.M_PREFIX + n, file));
                t.v.put(n, require(stored, TrainingGraphs.V_PREFIX + n, file));
            }
            t.step = Integer.parseInt(meta.get("step"));
            t.dataRng.setState(Long.parseLong(meta.get("data_rng_state")));
            t.chunkRng.setState(Long.parseLong(meta.get("chunk_rng_state")));
            t.windowsDrawn = Long.parseLong(meta.get("windows_drawn"));
            if (meta.containsKey("last_loss")) t.lastLoss = Double.parseDouble(meta.get("last_loss"));
            return t;
        }
    }

    private static TensorData require(Map<String, TensorData> stored, String name, Path file) throws IOException {
        TensorData t = stored.get(name);
        if (t == null) throw new IOException(file + ": checkpoint has no tensor '" + name + "'");
        return t.castTo(DType.FLOAT);
    }

    /** The newest checkpoint in a directory that opens as a complete training checkpoint. */
    public static java.util.Optional<Path> latestCheckpoint(Path dir) throws IOException {
        for (Path p : checkpoints(dir)) {
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                if (FORMAT.equals(f.metadata().get("format"))) return java.util.Optional.of(p);
            } catch (IOException e) {
                // incomplete or foreign: try the next older one
            }
        }
        return java.util.Optional.empty();
    }

    /** Checkpoint files in a directory, newest (highest step) first. */
    public static List<Path> checkpoints(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> CHECKPOINT_NAME.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparingLong(Trainer::stepOf).reversed()).collect(Collectors.toList());
        }
    }

    static long stepOf(Path p) {
        Matcher mm = CHECKPOINT_NAME.matcher(p.getFileName().toString());
        return mm.matches() ? Long.parseLong(mm.group(1)) : -1;
    }

    // ------------------------------------------------------------------ building

    static int[] chunkSizes(ModelSpec spec, TrainConfig cfg) {
        if (!spec.isCat()) {
            if (cfg.chunkPowers.length > 0) throw new IllegalArgumentException("chunk powers need an adaptive CAT model, not " + spec.variant.id);
            if (cfg.seqLen > spec.blockSize()) throw new IllegalArgumentException("seq_len " + cfg.seqLen + " exceeds the model's block_size " + spec.blockSize());
            return new int[] {0};
        }
        int[] chunks;
        if (cfg.chunkPowers.length == 0) {
            chunks = new int[] {spec.chunkSize()};
        } else {
            if (spec.variant != Variant.CAT_ADAPTIVE) {
                throw new IllegalArgumentException("chunk powers need an adaptive CAT model, not " + spec.variant.id);
            }
            chunks = java.util.Arrays.stream(cfg.chunkPowers).map(p -> 1 << p).distinct().sorted().toArray();
            // largest first: it holds every parameter, so fresh weights are created in the reference order
            for (int i = 0; i < chunks.length / 2; i++) {
                int tmp = chunks[i];
                chunks[i] = chunks[chunks.length - 1 - i];
                chunks[chunks.length - 1 - i] = tmp;
            }
            for (int c : chunks) {
                if (c > spec.chunkSize()) throw new IllegalArgumentException("chunk size " + c + " exceeds the model's chunk size " + spec.chunkSize());
            }
        }
        if (cfg.seqLen > spec.blockSize()) throw new IllegalArgumentException("seq_len " + cfg.seqLen + " exceeds the model's block_size " + spec.blockSize());
        for (int c : chunks) {
            if (cfg.seqLen % c != 0) throw new IllegalArgumentException("seq_len " + cfg.seqLen + " is not a multiple of the chunk size " + c);
        }
        return chunks;
    }

    private static void checkData(TokenShards data, String what, ModelSpec spec, TrainConfig cfg) throws IOException {
        data.checkWindows(cfg.seqLen);
        if (cfg.checkIds) data.checkIds(spec.vocabSize());
    }

    private TrainingGraphs.AdamW adamW(Set<String> decayed) {
        return TrainingGraphs.AdamW.defaults().withBetas(cfg.beta1, cfg.beta2).withEps(cfg.eps).withWeightDecay(cfg.weightDecay)
                .withMaxGradNorm(cfg.clip).withDecays(decayed::contains);
    }

    private StepGraph buildStep(WeightSource weights, int chunk) throws IOException {
        Graph g = ForwardGraphs.loss(spec, weights, chunk, options.withResizeInGraph(true));
        List<String> names = TrainingGraphs.parameterNames(g);
        Set<String> decayed = new HashSet<>();
        for (String n : names) {
            TensorData d = g.initializers().get(n).data;
            if (!params.containsKey(n)) params.put(n, heapCopy(d.castTo(DType.FLOAT)));
            if (d.rank() >= 2) decayed.add(n);
        }
        TrainingGraphs.addTrainingStep(g, adamW(decayed));
        ModelSession s = OrtRuntime.get().open(new OnnxModel(g).toBytes(), sessionConfig);
        return new StepGraph(chunk, s, List.copyOf(names));
    }

    private void buildEval() {
        int chunk = spec.isCat() ? spec.chunkSize() : 0;
        Graph g = ForwardGraphs.loss(spec, WeightSource.of(params), chunk, options);
        evalParams = TrainingGraphs.parameterNames(g);
        for (String n : evalParams) g.initializerToInput(n);
        evalSession = OrtRuntime.get().open(new OnnxModel(g).toBytes(), sessionConfig);
    }

    // ------------------------------------------------------------------ training

    public ModelSpec spec() { return spec; }
    public TrainConfig config() { return cfg.copy(); }
    /** Optimizer steps done. */
    public int step() { return step; }
    public double lastLoss() { return lastLoss; }
    /** Windows drawn from the training data so far. */
    public long windowsDrawn() { return windowsDrawn; }
    /** Chunk sizes with a training-step graph (0 for a dense model). */
    public int[] chunkSizes() { return graphs.stream().mapToInt(x -> x.chunk).toArray(); }
    /** Current parameters by the reference's names (float32). */
    public Map<String, TensorData> parameters() { return Collections.unmodifiableMap(params); }
    public Map<String, TensorData> firstMoments() { return Collections.unmodifiableMap(m); }
    public Map<String, TensorData> secondMoments() { return Collections.unmodifiableMap(v); }
    public long parameterCount() { return params.values().stream().mapToLong(TensorData::numElements).sum(); }

    /** Runs to the configured number of steps. */
    public void train(Listener l) throws IOException {
        train(cfg.steps, l);
    }

    /** Runs until {@code untilStep} optimizer steps are done (at most the configured number). */
    public void train(int untilStep, Listener l) throws IOException {
        Listener listener = l == null ? s -> { } : l;
        int end = Math.min(untilStep, cfg.steps);
        while (step < end) {
            StepInfo info = trainStep();
            listener.onStep(info);
            int t = info.step();
            if (val != null && cfg.evalEvery > 0 && (t % cfg.evalEvery == 0 || t == cfg.steps)) listener.onEval(t, evaluate());
            if (outDir != null && ((cfg.checkpointEvery > 0 && t % cfg.checkpointEvery == 0) || t == cfg.steps)) {
                listener.onCheckpoint(t, saveCheckpoint());
            }
        }
    }

    /** One optimizer step. */
    public StepInfo trainStep() {
        long t0 = System.nanoTime();
        int t = step + 1;
        StepGraph sg = graphs.size() == 1 ? graphs.get(0) : graphs.get(cfg.chunkOrder == TrainConfig.ChunkOrder.ROUND_ROBIN
                ? (t - 1) % graphs.size() : chunkRng.nextInt(graphs.size()));
        int windows = cfg.batch * cfg.accumulate;
        TokenShards.Batch b = train.randomBatch(dataRng, windows, cfg.seqLen);
        double lr = cfg.lrAt(t);
        Map<String, TensorData> feeds = new LinkedHashMap<>();
        feeds.put(ForwardGraphs.INPUT_IDS, b.inputIds());
        feeds.put(ForwardGraphs.LABELS, b.labels());
        for (String n : sg.params) {
            feeds.put(n, params.get(n));
            feeds.put(TrainingGraphs.M_PREFIX + n, m.get(n));
            feeds.put(TrainingGraphs.V_PREFIX + n, v.get(n));
        }
        feeds.put(TrainingGraphs.STEP, TensorData.ofLongs(new long[] {t}));
        feeds.put(TrainingGraphs.LR, TensorData.ofFloats(new float[] {(float) lr}));
        Map<String, TensorData> out = sg.session.run(feeds);
        double loss = out.get(ForwardGraphs.LOSS).toFloats()[0];
        if (!Double.isFinite(loss)) throw new IllegalStateException("loss is " + loss + " at step " + t + " (lr " + lr + "); parameters left at step " + step);
        for (String n : sg.params) {
            params.put(n, out.get(TrainingGraphs.NEW_PREFIX + n));
            m.put(n, out.get(TrainingGraphs.NEW_PREFIX + TrainingGraphs.M_PREFIX + n));
            v.put(n, out.get(TrainingGraphs.NEW_PREFIX + TrainingGraphs.V_PREFIX + n));
        }
        step = t;
        windowsDrawn += windows;
        lastLoss = loss;
        double secs = (System.nanoTime() - t0) / 1e9;
        long tokens = cfg.tokensPerStep();
        return new StepInfo(t, cfg.steps, loss, out.get(TrainingGraphs.GRAD_NORM).toFloats()[0], lr, sg.chunk, tokens, secs, tokens / secs);
    }

    /** Mean loss over the first evalWindows fixed windows of the held-out data, with the current parameters. */
    public double evaluate() {
        if (val == null) throw new IllegalStateException("no validation data");
        return evaluate(val, cfg.evalWindows);
    }

    /** Mean loss over the first {@code windows} fixed windows of {@code data}. */
    public double evaluate(TokenShards data, int windows) {
        if (evalSession == null) buildEval();
        long n = Math.min(windows, data.sequentialWindows(cfg.seqLen));
        if (n == 0) throw new IllegalStateException("no evaluation window of " + (cfg.seqLen + 1) + " tokens in " + data);
        double sum = 0;
        for (long first = 0; first < n; first += cfg.batch) {
            TokenShards.Batch b = data.sequentialBatch(first, (int) Math.min(cfg.batch, n - first), cfg.seqLen);
            Map<String, TensorData> feeds = new LinkedHashMap<>();
            feeds.put(ForwardGraphs.INPUT_IDS, b.inputIds());
            feeds.put(ForwardGraphs.LABELS, b.labels());
            for (String p : evalParams) feeds.put(p, params.get(p));
            double loss = evalSession.run(feeds).get(ForwardGraphs.LOSS).toFloats()[0];
            sum += loss * b.inputIds().dim(0);
        }
        return sum / n;
    }

    // ------------------------------------------------------------------ checkpoints

    /** Writes ckpt-&lt;step&gt;.safetensors atomically into the output directory, then deletes older ones beyond the limit. */
    public Path saveCheckpoint() throws IOException {
        if (outDir == null) throw new IllegalStateException("no output directory");
        Path file = outDir.resolve(String.format("%s%08d%s", CHECKPOINT_PREFIX, step, CHECKPOINT_SUFFIX));
        Map<String, TensorData> tensors = new LinkedHashMap<>(params);
        for (String n : params.keySet()) tensors.put(TrainingGraphs.M_PREFIX + n, m.get(n));
        for (String n : params.keySet()) tensors.put(TrainingGraphs.V_PREFIX + n, v.get(n));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("step", Integer.toString(step));
        meta.put("seed", Long.toString(cfg.seed));
        meta.put("data_rng_state", Long.toString(dataRng.state()));
        meta.put("chunk_rng_state", Long.toString(chunkRng.state()));
        meta.put("windows_drawn", Long.toString(windowsDrawn));
        meta.put("tokens_seen", Long.toString(windowsDrawn * cfg.seqLen));
        if (!Double.isNaN(lastLoss)) meta.put("last_loss", Double.toString(lastLoss));
        meta.put("train_config", JSON.writeValueAsString(cfg.toJson(JSON)));
        meta.put("model", JSON.writeValueAsString(spec.toJson(JSON)));
        SafetensorsWriter.write(file, tensors, meta);
        List<Path> all = checkpoints(outDir);
        for (int i = cfg.keepCheckpoints; i < all.size(); i++) {
            if (!all.get(i).equals(file)) Files.deleteIfExists(all.get(i));
        }
        return file;
    }

    /** Writes the model alone: weights (reference names) and config.json, each atomically. */
    public void exportModel(Path weightsFile, Path configJson) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("step", Integer.toString(step));
        SafetensorsWriter.write(weightsFile, params, meta);
        if (configJson != null) {
            byte[] json = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(spec.toJson(JSON)).getBytes(StandardCharsets.UTF_8);
            AtomicFiles.write(configJson, tmp -> Files.write(tmp, json));
        }
    }

    /** Removes temporaries of interrupted atomic writes (".ckpt-....tmp", hidden siblings of checkpoints). */
    static void deleteStaleTemporaries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.collect(Collectors.toList())) {
                String n = p.getFileName().toString();
                if (n.startsWith("." + CHECKPOINT_PREFIX) && n.endsWith(".tmp") && Files.isRegularFile(p)) Files.deleteIfExists(p);
            }
        }
    }

    private static TensorData zeros(TensorData like) {
        return TensorData.ofFloats(new float[Math.toIntExact(like.numElements())], like.shape());
    }

    private static TensorData heapCopy(TensorData t) {
        ByteBuffer src = t.bytes();
        ByteBuffer copy = ByteBuffer.allocate(src.remaining());
        copy.put(src).flip();
        return new TensorData(t.type(), t.shape(), copy.order(ByteOrder.LITTLE_ENDIAN));
    }

    @Override
    public void close() {
        for (StepGraph g : graphs) g.session.close();
        graphs.clear();
        if (evalSession != null) evalSession.close();
        evalSession = null;
    }
}
