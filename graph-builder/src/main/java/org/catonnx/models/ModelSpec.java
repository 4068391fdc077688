package org.catonnx.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a model is: its variant, the decoder config, the compressor config (CAT variants)
 * and, for CAT-as-a-layer models, which layers are CAT (C) and which dense (D).
 */
public final class ModelSpec {
    public final Variant variant;
    public final ModelConfig decoder;
    /** null unless variant is CAT or CAT_ADAPTIVE */
    public final ModelConfig compressor;
    /** one letter per layer, C or D; null unless variant is CAT_LAYER */
    public final String layerPattern;

    private ModelSpec(Variant variant, ModelConfig decoder, ModelConfig compressor, String layerPattern) {
        this.variant = variant;
        this.decoder = decoder;
        this.compressor = compressor;
        this.layerPattern = layerPattern;
        validate();
    }

    public static ModelSpec transformer(ModelConfig c) {
        return new ModelSpec(Variant.TRANSFORMER, c, null, null);
    }

    public static ModelSpec cat(ModelConfig decoder, ModelConfig compressor) {
        return new ModelSpec(Variant.CAT, decoder, compressor, null);
    }

    public static ModelSpec catAdaptive(ModelConfig decoder, ModelConfig compressor) {
        return new ModelSpec(Variant.CAT_ADAPTIVE, decoder, compressor, null);
    }

    /** @param pattern C/D per layer, or null for all CAT layers */
    public static ModelSpec catLayer(ModelConfig config, String pattern) {
        return new ModelSpec(Variant.CAT_LAYER, config, null, pattern == null ? "C".repeat(config.nLayer) : pattern);
    }

    private void validate() {
        switch (variant) {
            case TRANSFORMER:
                break;
            case CAT:
            case CAT_ADAPTIVE:
                if (compressor == null) throw new ConfigException(variant.id + " needs a compressor config");
                if (decoder.chunkSize == 0) throw new ConfigException(variant.id + " decoder config needs chunk_size");
                if (compressor.chunkSize != decoder.chunkSize) {
                    throw new ConfigException("compressor chunk_size " + compressor.chunkSize + " != decoder chunk_size " + decoder.chunkSize);
                }
                if (compressor.blockSize != decoder.blockSize) {
                    throw new ConfigException("compressor block_size " + compressor.blockSize + " != decoder block_size " + decoder.blockSize);
                }
                if (compressor.dimFx != decoder.dim) {
                    throw new ConfigException("compressor dim_fx " + compressor.dimFx + " must equal the decoder dim " + decoder.dim
                            + " (f(c) is fed to the decoder directly)");
                }
                if (variant == Variant.CAT_ADAPTIVE && Integer.bitCount(decoder.chunkSize) != 1) {
                    throw new ConfigException("adaptive CAT needs a power-of-two chunk_size, got " + decoder.chunkSize);
                }
                break;
            case CAT_LAYER:
                if (decoder.chunkSize == 0) throw new ConfigException("cat_layer config needs chunk_size");
                if (decoder.dimFx % 64 != 0) {
                    throw new ConfigException("cat_layer dim_fx " + decoder.dimFx + " must be a multiple of 64 (heads of 64)");
                }
                if (decoder.ropeNElem > 64) throw new ConfigException("cat_layer rope_n_elem " + decoder.ropeNElem + " exceeds the head size 64");
                if (layerPattern.length() != decoder.nLayer || !layerPattern.matches("[CD]+")) {
                    throw new ConfigException("layer pattern '" + layerPattern + "' must have one C or D per layer (" + decoder.nLayer + ")");
                }
                break;
            default:
                throw new AssertionError(variant);
        }
    }

    public boolean isCat() { return variant != Variant.TRANSFORMER; }

    /** The largest chunk size (CAT variants); adaptive models also serve every smaller power of two. */
    public int chunkSize() { return decoder.chunkSize; }

    /** Chunk sizes a graph can be built for: one for fixed CAT, 2^0..C for adaptive, none for dense. */
    public int[] chunkSizes() {
        switch (variant) {
            case TRANSFORMER: return new int[0];
            case CAT_ADAPTIVE: {
                int n = Integer.numberOfTrailingZeros(chunkSize()) + 1;
                int[] s = new int[n];
                for (int p = 0; p < n; p++) s[p] = 1 << p;
                return s;
            }
            default: return new int[] {chunkSize()};
        }
    }

    /**
     * Bytes of decoding state for one sequence of the given length, as the reference allocates
     * it (CAT.md section 4): dense layers keep every position; CAT keeps num_chunks compressed
     * entries plus l for the current chunk (adaptive: plus its separator) per layer; a CAT layer
     * keeps those in its dim_fx-wide attention plus the chunk's l normed inputs for its compressor.
     */
    public long cacheBytes(int chunk, int length, int bytesPerElement) {
        ModelConfig d = decoder;
        long dense = 2L * d.nLocalHeads * d.headDim * length;
        long perLayer;
        switch (variant) {
            case TRANSFORMER:
                return d.nLayer * dense * bytesPerElement;
            case CAT:
            case CAT_ADAPTIVE:
                perLayer = 2L * d.nLocalHeads * d.headDim * (length / chunk + chunk + (variant == Variant.CAT_ADAPTIVE ? 1 : 0));
                return d.nLayer * perLayer * bytesPerElement;
            default: {
                long total = 0;
                for (char kind : layerPattern.toCharArray()) {
                    total += kind == 'D' ? dense : 2L * d.dimFx * (length / chunk + chunk) + (long) chunk * d.dim;
                }
                return total * bytesPerElement;
            }
        }
    }

    public int blockSize() { return decoder.blockSize; }
    public int vocabSize() { return decoder.vocabSize; }
    public int paddedVocabSize() { return decoder.paddedVocabSize; }

    /** Reads the golden/bundle config.json format: {"variant", "decoder", "compressor"?, "layer_pattern"?}. */
    public static ModelSpec fromJson(JsonNode root) {
        if (root == null || !root.isObject()) throw new ConfigException("config must be a JSON object");
        JsonNode v = root.get("variant");
        if (v == null || !v.isTextual()) throw new ConfigException("config has no \"variant\" string");
        Variant variant = Variant.parse(v.asText());
        ModelConfig dec = ModelConfig.fromJson(root.get("decoder"));
        switch (variant) {
            case TRANSFORMER: return transformer(dec);
            case CAT: return cat(dec, ModelConfig.fromJson(root.get("compressor")));
            case CAT_ADAPTIVE: return catAdaptive(dec, ModelConfig.fromJson(root.get("compressor")));
            default: {
                JsonNode p = root.get("layer_pattern");
                return catLayer(dec, p == null || p.isNull() ? null : p.asText());
            }
        }
    }

    /** Config files larger than this are refused unread. */
    public static final long MAX_CONFIG_BYTES = 16L << 20;

    public static ModelSpec load(Path configJson) throws IOException {
        long size = Files.size(configJson);
        if (size > MAX_CONFIG_BYTES) throw new ConfigException(configJson.getFileName() + ": " + size + " bytes, larger than the limit of " + MAX_CONFIG_BYTES);
        byte[] bytes = Files.readAllBytes(configJson);
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(bytes);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ConfigException(configJson.getFileName() + ": not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            // e.g. CharConversionException: the bytes look like UTF-16/32 JSON but are not
            throw new ConfigException(configJson.getFileName() + ": not valid JSON: " + e.getMessage());
        }
        try {
            return fromJson(root);
        } catch (ConfigException e) {
            throw new ConfigException(configJson.getFileName() + ": " + e.getMessage());
        }
    }

    public ObjectNode toJson(ObjectMapper m) {
        ObjectNode o = m.createObjectNode();
        o.put("variant", variant.id);
        o.set("decoder", decoder.toJson(m));
        if (compressor != null) o.set("compressor", compressor.toJson(m));
        if (layerPattern != null) o.put("layer_pattern", layerPattern);
        return o;
    }

    @Override
    public String toString() {
        return variant.id + "(dim " + decoder.dim + " x " + decoder.nLayer + (compressor != null
                ? "; compressor " + compressor.dim + " x " + compressor.nLayer : "") + (chunkSize() > 0 ? "; chunk " + chunkSize() : "")
                + (layerPattern != null ? "; " + layerPattern : "") + ")";
    }
}
