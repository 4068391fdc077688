package org.catonnx.runtime.generate;

import java.util.Set;

/**
 * How to generate: how many new tokens, when to stop, and how to pick tokens (greedy when
 * temperature is 0; else sampling with optional top-k / top-p and a seed for reproducibility).
 */
public final class GenerationConfig {
    /** Prompts per {@code generate} call unless {@link #withMaxBatch} says otherwise. */
    public static final int DEFAULT_MAX_BATCH = 64;

    public final int maxNewTokens;
    public final Set<Long> stopTokens;
    public final double temperature;
    public final int topK;
    public final double topP;
    public final long seed;
    /** run the whole generation as one in-graph ONNX Loop (greedy only) instead of one session run per token */
    public final boolean inGraphLoop;
    /** most prompts one {@code generate} call accepts (a larger batch is refused before any session runs) */
    public final int maxBatch;

    public GenerationConfig(int maxNewTokens, Set<Long> stopTokens, double temperature, int topK, double topP, long seed) {
        this(maxNewTokens, stopTokens, temperature, topK, topP, seed, false);
    }

    public GenerationConfig(int maxNewTokens, Set<Long> stopTokens, double temperature, int topK, double topP, long seed,
                            boolean inGraphLoop) {
        this(maxNewTokens, stopTokens, temperature, topK, topP, seed, inGraphLoop, DEFAULT_MAX_BATCH);
    }

    public GenerationConfig(int maxNewTokens, Set<Long> stopTokens, double temperature, int topK, double topP, long seed,
                            boolean inGraphLoop, int maxBatch) {
        if (maxBatch < 1) throw new IllegalArgumentException("max batch must be at least 1, got " + maxBatch);
        if (maxNewTokens < 1) throw new IllegalArgumentException("max new tokens must be at least 1, got " + maxNewTokens);
        if (temperature < 0 || Double.isNaN(temperature)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0 (0 = off), got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + topP);
        this.maxNewTokens = maxNewTokens;
        this.stopTokens = Set.copyOf(stopTokens);
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.seed = seed;
        this.inGraphLoop = inGraphLoop;
        this.maxBatch = maxBatch;
        if (inGraphLoop && temperature != 0) {
            throw new IllegalArgumentException("the in-graph generation loop is greedy; use the step-by-step loop for sampling");
        }
    }

    public static GenerationConfig greedy(int maxNewTokens) {
        return new GenerationConfig(maxNewTokens, Set.of(), 0, 0, 1, 0);
    }

    public GenerationConfig withSampling(double temperature, int topK, double topP, long seed) {
        return new GenerationConfig(maxNewTokens, stopTokens, temperature, topK, topP, seed, inGraphLoop, maxBatch);
    }

    public GenerationConfig withStopTokens(Set<Long> stop) {
        return new GenerationConfig(maxNewTokens, stop, temperature, topK, topP, seed, inGraphLoop, maxBatch);
    }

    public GenerationConfig withInGraphLoop(boolean loop) {
        return new GenerationConfig(maxNewTokens, stopTokens, temperature, topK, topP, seed, loop, maxBatch);
    }

    public GenerationConfig withMaxBatch(int max) {
        return new GenerationConfig(maxNewTokens, stopTokens, temperature, topK, topP, seed, inGraphLoop, max);
    }

    public boolean greedy() { return temperature == 0; }
}
