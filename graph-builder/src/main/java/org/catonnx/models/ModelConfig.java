package org.catonnx.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * One transformer stack's configuration (CAT.md section 1): the dense model, a CAT decoder
 * or a CAT compressor. Derived fields follow the reference's __post_init__.
 */
public final class ModelConfig {
    /** Upper bounds on sizes read from a config (far above any real model, low enough that derived sizes fit an int). */
    public static final int MAX_BLOCK_SIZE = 1 << 24;
    public static final int MAX_VOCAB_SIZE = 1 << 26;
    public static final int MAX_LAYERS = 4096;
    public static final int MAX_HEADS = 4096;
    public static final int MAX_WIDTH = 1 << 20;
    public final int blockSize;
    public final int vocabSize;
    public final int paddedVocabSize;
    public final int nLayer;
    public final int nHead;
    public final int nLocalHeads;
    public final int dim;
    public final int intermediateSize;
    public final int headDim;
    public final double ropeBase;
    public final double normEps;
    public final int ropeNElem;
    public final boolean useQkNorm;
    /** CAT chunk size l, or 0 for a dense model. */
    public final int chunkSize;
    /** Size of a compressed chunk vector f(c), or 0 for a dense model. */
    public final int dimFx;

    private ModelConfig(Builder b) {
        blockSize = bounded("block_size", b.blockSize, MAX_BLOCK_SIZE);
        vocabSize = bounded("vocab_size", b.vocabSize, MAX_VOCAB_SIZE);
        paddedVocabSize = b.paddedVocabSize > 0 ? bounded("padded_vocab_size", b.paddedVocabSize, MAX_VOCAB_SIZE) : roundUp(vocabSize, 256);
        nLayer = bounded("n_layer", b.nLayer, MAX_LAYERS);
        nHead = bounded("n_head", b.nHead, MAX_HEADS);
        nLocalHeads = b.nLocalHeads == -1 || b.nLocalHeads == 0 ? nHead : positive("n_local_heads", b.nLocalHeads);
        dim = bounded("dim", b.dim, MAX_WIDTH);
        if (dim % nHead != 0) throw new ConfigException("dim " + dim + " is not divisible by n_head " + nHead);
        if (nHead % nLocalHeads != 0) {
            throw new ConfigException("n_head " + nHead + " is not divisible by n_local_heads " + nLocalHeads);
        }
        headDim = dim / nHead;
        if (b.headDim > 0 && b.headDim != headDim) {
            throw new ConfigException("head_dim " + b.headDim + " != dim / n_head = " + headDim);
        }
        intermediateSize = b.intermediateSize > 0 ? bounded("intermediate_size", b.intermediateSize, MAX_WIDTH)
                : roundUp((int) (2 * 4 * dim / 3.0), 256);
        if (!(b.ropeBase > 0) || Double.isInfinite(b.ropeBase)) throw new ConfigException("rope_base must be a positive finite number, got " + b.ropeBase);
        if (!(b.normEps >= 0) || Double.isInfinite(b.normEps)) throw new ConfigException("norm_eps must be a finite number >= 0, got " + b.normEps);
        ropeBase = b.ropeBase;
        normEps = b.normEps;
        ropeNElem = b.ropeNElem > 0 ? b.ropeNElem : headDim;
        if (ropeNElem > headDim || ropeNElem % 2 != 0) {
            throw new ConfigException("rope_n_elem " + ropeNElem + " must be even and at most head_dim " + headDim);
        }
        useQkNorm = b.useQkNorm;
        chunkSize = b.chunkSize;
        if (chunkSize < 0) throw new ConfigException("chunk_size must be positive, got " + chunkSize);
        if (chunkSize > 0 && blockSize % chunkSize != 0) {
            throw new ConfigException("block_size " + blockSize + " is not divisible by chunk_size " + chunkSize);
        }
        dimFx = chunkSize > 0 ? (b.dimFx > 0 ? bounded("dim_fx", b.dimFx, MAX_WIDTH) : dim) : 0;
        if (paddedVocabSize < vocabSize) {
            throw new ConfigException("padded_vocab_size " + paddedVocabSize + " < vocab_size " + vocabSize);
        }
    }

    private static int positive(String name, int v) {
        if (v <= 0) throw new ConfigException(name + " must be positive, got " + v);
        return v;
    }

    private static int bounded(String name, int v, int max) {
        positive(name, v);
        if (v > max) throw new ConfigException(name + " " + v + " exceeds the limit of " + max);
        return v;
    }

    static int roundUp(int n, int k) {
        return n % k == 0 ? n : n + k - n % k;
    }

    public int numChunks() {
        if (chunkSize == 0) throw new IllegalStateException("not a CAT config");
        return blockSize / chunkSize;
    }

    public boolean isGroupedQuery() { return nLocalHeads != nHead; }

    public Builder toBuilder() {
        return new Builder().blockSize(blockSize).vocabSize(vocabSize).paddedVocabSize(paddedVocabSize).nLayer(nLayer)
                .nHead(nHead).nLocalHeads(nLocalHeads).dim(dim).intermediateSize(intermediateSize).ropeBase(ropeBase)
                .normEps(normEps).ropeNElem(ropeNElem).useQkNorm(useQkNorm).chunkSize(chunkSize).dimFx(dimFx);
    }

    /** Reads the reference's config field names (as in the golden config.json "decoder"/"compressor"). */
    public static ModelConfig fromJson(JsonNode n) {
        if (n == null || !n.isObject()) throw new ConfigException("model config must be a JSON object");
        Builder b = new Builder();
        b.blockSize = reqInt(n, "block_size");
        b.vocabSize = reqInt(n, "vocab_size");
        b.paddedVocabSize = optInt(n, "padded_vocab_size", 0);
        b.nLayer = reqInt(n, "n_layer");
        b.nHead = reqInt(n, "n_head");
        b.nLocalHeads = optInt(n, "n_local_heads", -1);
        b.dim = reqInt(n, "dim");
        b.intermediateSize = optInt(n, "intermediate_size", 0);
        b.headDim = optInt(n, "head_dim", 0);
        b.ropeBase = optDouble(n, "rope_base", 10000);
        b.normEps = optDouble(n, "norm_eps", 1e-5);
        b.ropeNElem = optInt(n, "rope_n_elem", 0);
        b.useQkNorm = n.has("use_qk_norm") && n.get("use_qk_norm").asBoolean();
        b.chunkSize = optInt(n, "chunk_size", 0);
        b.dimFx = optInt(n, "dim_fx", 0);
        // use_fused_ops (Liger kernels) computes the same function: nothing changes in the graph
        ModelConfig c = b.build();
        if (n.has("num_chunks") && c.chunkSize > 0 && n.get("num_chunks").asInt() != c.numChunks()) {
            throw new ConfigException("num_chunks " + n.get("num_chunks").asInt() + " != block_size / chunk_size = " + c.numChunks());
        }
        return c;
    }

    public ObjectNode toJson(ObjectMapper m) {
        ObjectNode o = m.createObjectNode();
        o.put("block_size", blockSize).put("vocab_size", vocabSize).put("padded_vocab_size", paddedVocabSize)
                .put("n_layer", nLayer).put("n_head", nHead).put("n_local_heads", nLocalHeads).put("dim", dim)
                .put("intermediate_size", intermediateSize).put("head_dim", headDim).put("rope_base", ropeBase)
                .put("norm_eps", normEps).put("rope_n_elem", ropeNElem).put("use_qk_norm", useQkNorm);
        if (chunkSize > 0) o.put("chunk_size", chunkSize).put("dim_fx", dimFx).put("num_chunks", numChunks());
        return o;
    }

    private static int reqInt(JsonNode n, String f) {
        JsonNode v = n.get(f);
        if (v == null || !v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new ConfigException("config field '" + f + "' is missing or not an integer");
        }
        return v.asInt();
    }

    private static int optInt(JsonNode n, String f, int dflt) {
        JsonNode v = n.get(f);
        if (v == null || v.isNull()) return dflt;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw new ConfigException("config field '" + f + "' is not an integer");
        return v.asInt();
    }

    private static double optDouble(JsonNode n, String f, double dflt) {
        JsonNode v = n.get(f);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber()) throw new ConfigException("config field '" + f + "' is not a number");
        return v.asDouble();
    }

    public static final class Builder {
        int blockSize, vocabSize, paddedVocabSize, nLayer, nHead, nLocalHeads = -1, dim, intermediateSize, headDim, ropeNElem;
        double ropeBase = 10000, normEps = 1e-5;
        boolean useQkNorm;
        int chunkSize, dimFx;

        public Builder blockSize(int v) { blockSize = v; return this; }
        public Builder vocabSize(int v) { vocabSize = v; return this; }
        public Builder paddedVocabSize(int v) { paddedVocabSize = v; return this; }
        public Builder nLayer(int v) { nLayer = v; return this; }
        public Builder nHead(int v) { nHead = v; return this; }
        public Builder nLocalHeads(int v) { nLocalHeads = v; return this; }
        public Builder dim(int v) { dim = v; return this; }
        public Builder intermediateSize(int v) { intermediateSize = v; return this; }
        public Builder ropeBase(double v) { ropeBase = v; return this; }
        public Builder normEps(double v) { normEps = v; return this; }
        public Builder ropeNElem(int v) { ropeNElem = v; return this; }
        public Builder useQkNorm(boolean v) { useQkNorm = v; return this; }
        public Builder chunkSize(int v) { chunkSize = v; return this; }
        public Builder dimFx(int v) { dimFx = v; return this; }
        public ModelConfig build() { return new ModelConfig(this); }
    }
}
