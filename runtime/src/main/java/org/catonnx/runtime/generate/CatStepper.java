package org.catonnx.runtime.generate;

import org.catonnx.graphs.DecodeGraphs;
import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.models.ModelConfig;
import org.catonnx.models.ModelSpec;
import org.catonnx.onnx.TensorData;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * The reference's chunk-by-chunk decoder (CAT.md section 4) for any prompt length: complete
 * prompt chunks are compressed and fed as summaries, the remainder as tokens; a chunk that
 * fills up is compressed, its token entries dropped and its summary appended.
 */
final class CatStepper implements Stepper {
    private final ModelSpec spec;
    private final int chunk;
    private final DecodeSessions s;
    private final int layers;
    private final Map<String, TensorData> cache = new HashMap<>();
    private long[][] current;   // tokens of the chunk being filled, per row
    private int filled;
    private long chunkIndex;

    CatStepper(ModelSpec spec, int chunk, DecodeSessions sessions) {
        this.spec = spec;
        this.chunk = chunk;
        this.s = sessions;
        this.layers = spec.decoder.nLayer;
    }

    @Override
    public float[] start(long[][] prompts) {
        int b = prompts.length, len = prompts[0].length;
        int whole = len / chunk;
        ModelConfig d = spec.decoder;
        TensorData empty = new TensorData(s.options().precision, new long[] {b, d.nLocalHeads, 0, d.headDim}, ByteBuffer.allocate(0));
        for (int i = 0; i < layers; i++) for (String p : new String[] {"ck", "cv"}) cache.put(DecodeGraphs.past(i, p), empty);
        TensorData summaries = s.get(DecodeSessions.START).run(Map.of(ForwardGraphs.INPUT_IDS, Generator.ids(prompts, 0, 1)))
                .get(DecodeGraphs.SUMMARIES);
        if (whole > 0) {
            long[] index = new long[whole];
            for (int k = 0; k < whole; k++) index[k] = k;
            TensorData f = compress(Generator.ids(prompts, 0, whole * chunk).reshape(b, whole, chunk), TensorData.ofLongs(index, whole));
            summaries = TensorData.concat(1, summaries, f);
        }
        chunkIndex = whole;
        float[] logits = feedSummaries(summaries);
        current = new long[b][chunk];
        filled = len - whole * chunk;
        for (int r = 0; r < b; r++) System.arraycopy(prompts[r], whole * chunk, current[r], 0, filled);
        if (filled > 0) logits = feedTokens(Generator.ids(prompts, whole * chunk, len), 0);
        return logits;
    }

    @Override
    public float[] next(long[] tokens) {
        for (int r = 0; r < tokens.length; r++) current[r][filled] = tokens[r];
        filled++;
        if (filled < chunk) {
            long[][] col = new long[tokens.length][];
            for (int r = 0; r < tokens.length; r++) col[r] = new long[] {tokens[r]};
            return feedTokens(Generator.ids(col, 0, 1), filled - 1);
        }
        TensorData f = compress(Generator.ids(current, 0, chunk).reshape(tokens.length, 1, chunk), TensorData.ofLongs(new long[] {chunkIndex}, 1));
        chunkIndex++;
        filled = 0;
        return feedSummaries(f);
    }

    private TensorData compress(TensorData chunks, TensorData index) {
        return s.get(DecodeSessions.COMPRESS).run(Map.of(DecodeGraphs.CHUNK_IDS, chunks, DecodeGraphs.CHUNK_INDEX, index))
                .get(DecodeGraphs.SUMMARIES);
    }

    private float[] feedSummaries(TensorData f) {
        Map<String, TensorData> in = new HashMap<>();
        in.put(DecodeGraphs.SUMMARIES, f);
        for (int i = 0; i < layers; i++) {
            in.put(DecodeGraphs.past(i, "ck"), cache.get(DecodeGraphs.past(i, "ck")));
            in.put(DecodeGraphs.past(i, "cv"), cache.get(DecodeGraphs.past(i, "cv")));
        }
        Map<String, TensorData> out = s.get(DecodeSessions.SUMMARIES).run(in);
        for (int i = 0; i < layers; i++) {
            for (String p : new String[] {"ck", "cv", "tk", "tv"}) cache.put(DecodeGraphs.past(i, p), out.get(DecodeGraphs.present(i, p)));
        }
        return Generator.lastPosition(out.get(ForwardGraphs.LOGITS));
    }

    private float[] feedTokens(TensorData ids, int position) {
        Map<String, TensorData> in = new HashMap<>(cache);
        in.put(ForwardGraphs.INPUT_IDS, ids);
        in.put(DecodeGraphs.POSITION, TensorData.ofLongs(new long[] {position}, 1));
        Map<String, TensorData> out = s.get(DecodeSessions.TOKENS).run(in);
        for (int i = 0; i < layers; i++) {
            for (String p : new String[] {"tk", "tv"}) cache.put(DecodeGraphs.past(i, p), out.get(DecodeGraphs.present(i, p)));
        }
        return Generator.lastPosition(out.get(ForwardGraphs.LOGITS));
    }

    @Override
    public void close() {
        cache.clear();
    }
}
