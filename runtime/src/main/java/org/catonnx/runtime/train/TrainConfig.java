package org.catonnx.runtime.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Arrays;
import java.util.Locale;

/**
 * How to train: batch shape, optimizer, learning-rate schedule, evaluation, checkpoints and (adaptive CAT) the
 * chunk-size schedule. Plain mutable fields; {@link #validate()} checks them; stored as JSON in checkpoints.
 */
public final class TrainConfig {
    public enum Schedule {
        /** lr after a linear warmup */
        CONSTANT,
        /** linear warmup, then cosine decay from lr to lr * minLrRatio at the last step */
        COSINE;

        public static Schedule parse(String s) {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        }
    }

    public enum ChunkOrder {
        /** a seeded generator picks a chunk size per step */
        RANDOM,
        /** chunk sizes in turn, by step number */
        ROUND_ROBIN;

        public static ChunkOrder parse(String s) {
            return valueOf(s.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        }
    }

    /** total optimizer steps */
    public int steps = 100;
    /** windows per micro-batch */
    public int batch = 8;
    /** tokens per window (input_ids length); windows read seqLen + 1 tokens */
    public int seqLen = 64;
    /** micro-batches per optimizer step (their gradients are averaged) */
    public int accumulate = 1;
    public double lr = 1e-3;
    public Schedule schedule = Schedule.COSINE;
    public int warmup = 0;
    /** final lr of the cosine schedule, as a fraction of lr */
    public double minLrRatio = 0.1;
    public double weightDecay = 0.1;
    public double beta1 = 0.9;
    public double beta2 = 0.95;
    public double eps = 1e-8;
    /** clip gradients to this global norm; 0 = off */
    public double clip = 1.0;
    /** evaluate every this many steps (and after the last); 0 = never */
    public int evalEvery = 0;
    /** evaluation windows (fixed, from the start of the held-out shards) */
    public int evalWindows = 32;
    /** checkpoint every this many steps (and after the last); 0 = only at the end when an output directory is set */
    public int checkpointEvery = 0;
    /** complete checkpoints to keep (newest first) */
    public int keepCheckpoints = 1;
    /** seeds the data sampler and the chunk schedule; also the model initialisation when none is given */
    public long seed = 1234;
    /** adaptive CAT: train chunk sizes 2^p for these p (empty = the trained chunk size only) */
    public int[] chunkPowers = new int[0];
    public ChunkOrder chunkOrder = ChunkOrder.RANDOM;
    /** check every token id against the vocabulary when opening data */
    public boolean checkIds = true;

    public TrainConfig validate() {
        positive("steps", steps);
        positive("batch", batch);
        positive("seq_len", seqLen);
        positive("accumulate", accumulate);
        positive("keep_checkpoints", keepCheckpoints);
        positive("eval_windows", evalWindows);
        if (!(lr > 0) || !Double.isFinite(lr)) throw new IllegalArgumentException("lr must be positive, got " + lr);
        if (warmup < 0 || evalEvery < 0 || checkpointEvery < 0) throw new IllegalArgumentException("warmup, eval_every and checkpoint_every must be >= 0");
        if (weightDecay < 0 || clip < 0) throw new IllegalArgumentException("weight_decay and clip must be >= 0");
        if (minLrRatio < 0 || minLrRatio > 1) throw new IllegalArgumentException("min_lr_ratio must be in [0, 1], got " + minLrRatio);
        for (int p : chunkPowers) if (p < 0 || p > 20) throw new IllegalArgumentException("chunk power " + p + " out of range");
        return this;
    }

    private static void positive(String name, int v) {
        if (v <= 0) throw new IllegalArgumentException(name + " must be positive, got " + v);
    }

    /** Learning rate of 1-based optimizer step t. */
    public double lrAt(int t) {
        if (warmup > 0 && t <= warmup) return lr * t / warmup;
        if (schedule == Schedule.CONSTANT) return lr;
        int decaySteps = Math.max(1, steps - warmup);
        double progress = Math.min(1.0, (double) (t - warmup) / decaySteps);
        double min = lr * minLrRatio;
        return min + 0.5 * (1 + Math.cos(Math.PI * progress)) * (lr - min);
    }

    public long tokensPerStep() {
        return (long) batch * accumulate * seqLen;
    }

    public ObjectNode toJson(ObjectMapper m) {
        ObjectNode o = m.createObjectNode();
        o.put("steps", steps).put("batch", batch).put("seq_len", seqLen).put("accumulate", accumulate).put("lr", lr)
                .put("schedule", schedule.name().toLowerCase(Locale.ROOT)).put("warmup", warmup).put("min_lr_ratio", minLrRatio)
                .put("weight_decay", weightDecay).put("beta1", beta1).put("beta2", beta2).put("eps", eps).put("clip", clip)
                .put("eval_every", evalEvery).put("eval_windows", evalWindows).put("checkpoint_every", checkpointEvery)
                .put("keep_checkpoints", keepCheckpoints).put("seed", seed)
                .put("chunk_order", chunkOrder.name().toLowerCase(Locale.ROOT)).put("check_ids", checkIds);
        ArrayNode a = o.putArray("chunk_powers");
        for (int p : chunkPowers) a.add(p);
        return o;
    }

    public static TrainConfig fromJson(JsonNode o) {
        TrainConfig c = new TrainConfig();
        if (o == null || !o.isObject()) throw new IllegalArgumentException("train config must be a JSON object");
        c.steps = o.path("steps").asInt(c.steps);
        c.batch = o.path("batch").asInt(c.batch);
        c.seqLen = o.path("seq_len").asInt(c.seqLen);
        c.accumulate = o.path("accumulate").asInt(c.accumulate);
        c.lr = o.path("lr").asDouble(c.lr);
        if (o.hasNonNull("schedule")) c.schedule = Schedule.parse(o.get("schedule").asText());
        c.warmup = o.path("warmup").asInt(c.warmup);
        c.minLrRatio = o.path("min_lr_ratio").asDouble(c.minLrRatio);
        c.weightDecay = o.path("weight_decay").asDouble(c.weightDecay);
        c.beta1 = o.path("beta1").asDouble(c.beta1);
        c.beta2 = o.path("beta2").asDouble(c.beta2);
        c.eps = o.path("eps").asDouble(c.eps);
        c.clip = o.path("clip").asDouble(c.clip);
        c.evalEvery = o.path("eval_every").asInt(c.evalEvery);
        c.evalWindows = o.path("eval_windows").asInt(c.evalWindows);
        c.checkpointEvery = o.path("checkpoint_every").asInt(c.checkpointEvery);
        c.keepCheckpoints = o.path("keep_checkpoints").asInt(c.keepCheckpoints);
        c.seed = o.path("seed").asLong(c.seed);
        if (o.hasNonNull("chunk_order")) c.chunkOrder = ChunkOrder.parse(o.get("chunk_order").asText());
        c.checkIds = o.path("check_ids").asBoolean(c.checkIds);
        if (o.has("chunk_powers")) {
            JsonNode a = o.get("chunk_powers");
            c.chunkPowers = new int[a.size()];
            for (int i = 0; i < a.size(); i++) c.chunkPowers[i] = a.get(i).asInt();
        }
        return c;
    }

    public TrainConfig copy() {
        return fromJson(toJson(new ObjectMapper()));
    }

    @Override
    public String toString() {
        return "steps " + steps + ", batch " + batch + " x " + accumulate + " x " + seqLen + " tokens, lr " + lr + " (" + schedule
                .name().toLowerCase(Locale.ROOT) + ", warmup " + warmup + "), wd " + weightDecay + ", clip " + clip
                + (chunkPowers.length > 0 ? ", chunk powers " + Arrays.toString(chunkPowers) + " " + chunkOrder.name().toLowerCase(Locale.ROOT) : "");
    }
}
