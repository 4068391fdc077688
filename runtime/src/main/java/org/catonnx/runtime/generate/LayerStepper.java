package org.catonnx.runtime.generate;

import org.catonnx.graphs.DecodeGraphs;
import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.models.ModelConfig;
import org.catonnx.models.ModelSpec;
import org.catonnx.onnx.TensorData;
import org.catonnx.runtime.ModelSession;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * Cached decoding of CAT-as-a-layer models and hybrids (see LayerDecodeGraphs): tokens are fed
 * in runs that stop before a chunk's last token; that token goes through chunk_end, where every
 * CAT layer compresses the chunk.
 */
final class LayerStepper implements Stepper {
    private final ModelSpec spec;
    private final DecodeSessions s;
    private final Map<String, TensorData> cache = new HashMap<>();
    private int filled;
    private int length;

    LayerStepper(ModelSpec spec, DecodeSessions sessions) {
        this.spec = spec;
        this.s = sessions;
    }

    @Override
    public float[] start(long[][] prompts) {
        int b = prompts.length;
        ModelConfig d = spec.decoder;
        Map<String, TensorData> dummies = s.get(DecodeSessions.START).run(Map.of(ForwardGraphs.INPUT_IDS, Generator.ids(prompts, 0, 1)));
        for (int i = 0; i < d.nLayer; i++) {
            if (spec.layerPattern.charAt(i) == 'C') {
                int h = d.dimFx / 64;
                cache.put(DecodeGraphs.past(i, "ck"), dummies.get(DecodeGraphs.present(i, "ck")));
                cache.put(DecodeGraphs.past(i, "cv"), dummies.get(DecodeGraphs.present(i, "cv")));
                cache.put(DecodeGraphs.past(i, "tk"), empty(b, h, 0, 64));
                cache.put(DecodeGraphs.past(i, "tv"), empty(b, h, 0, 64));
                cache.put(DecodeGraphs.past(i, "xs"), new TensorData(s.options().precision, new long[] {b, 0, d.dim}, ByteBuffer.allocate(0)));
            } else {
                cache.put(DecodeGraphs.past(i, "k"), empty(b, d.nLocalHeads, 0, d.headDim));
                cache.put(DecodeGraphs.past(i, "v"), empty(b, d.nLocalHeads, 0, d.headDim));
            }
        }
        filled = 0;
        length = 0;
        int l = spec.chunkSize(), len = prompts[0].length;
        float[] logits = null;
        for (int i = 0; i < len; ) {
            int room = l - 1 - filled;
            int n = room > 0 ? Math.min(room, len - i) : 1;
            logits = feed(Generator.ids(prompts, i, i + n));
            i += n;
        }
        return logits;
    }

    @Override
    public float[] next(long[] tokens) {
        long[][] col = new long[tokens.length][];
        for (int r = 0; r < tokens.length; r++) col[r] = new long[] {tokens[r]};
        return feed(Generator.ids(col, 0, 1));
    }

    /** n tokens that stay inside the chunk, or the one token that completes it. */
    private float[] feed(TensorData ids) {
        int n = (int) ids.dim(1);
        boolean end = filled == spec.chunkSize() - 1;
        ModelSession session = s.get(end ? DecodeSessions.CHUNK_END : DecodeSessions.TOKENS);
        Map<String, TensorData> in = new HashMap<>();
        in.put(ForwardGraphs.INPUT_IDS, ids);
        in.put(DecodeGraphs.POSITION, TensorData.ofLongs(new long[] {length}, 1));
        for (String name : session.inputNames()) if (cache.containsKey(name)) in.put(name, cache.get(name));
        Map<String, TensorData> out = session.run(in);
        for (Map.Entry<String, TensorData> e : out.entrySet()) {
            if (e.getKey().startsWith("present.")) cache.put("past." + e.getKey().substring("present.".length()), e.getValue());
        }
        length += n;
        filled = end ? 0 : filled + n;
        return Generator.lastPosition(out.get(ForwardGraphs.LOGITS));
    }

    private TensorData empty(int b, int h, int p, int d) {
        return new TensorData(s.options().precision, new long[] {b, h, p, d}, ByteBuffer.allocate(0));
    }

    @Override
    public void close() {
        cache.clear();
    }
}
