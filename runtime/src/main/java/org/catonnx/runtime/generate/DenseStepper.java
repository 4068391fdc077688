package org.catonnx.runtime.generate;

import org.catonnx.graphs.DecodeGraphs;
import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.models.ModelConfig;
import org.catonnx.models.ModelSpec;
import org.catonnx.onnx.TensorData;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/** The dense baseline with the usual growing key/value cache. */
final class DenseStepper implements Stepper {
    private final DecodeSessions s;
    private final int layers;
    private final ModelConfig d;
    private final Map<String, TensorData> cache = new HashMap<>();
    private int length;

    DenseStepper(ModelSpec spec, DecodeSessions sessions) {
        this.s = sessions;
        this.d = spec.decoder;
        this.layers = d.nLayer;
    }

    @Override
    public float[] start(long[][] prompts) {
        TensorData empty = new TensorData(s.options().precision, new long[] {prompts.length, d.nLocalHeads, 0, d.headDim}, ByteBuffer.allocate(0));
        for (int i = 0; i < layers; i++) {
            cache.put(DecodeGraphs.past(i, "k"), empty);
            cache.put(DecodeGraphs.past(i, "v"), empty);
        }
        length = 0;
        return feed(Generator.ids(prompts, 0, prompts[0].length));
    }

    @Override
    public float[] next(long[] tokens) {
        long[][] col = new long[tokens.length][];
        for (int r = 0; r < tokens.length; r++) col[r] = new long[] {tokens[r]};
        return feed(Generator.ids(col, 0, 1));
    }

    private float[] feed(TensorData ids) {
        Map<String, TensorData> in = new HashMap<>(cache);
        in.put(ForwardGraphs.INPUT_IDS, ids);
        in.put(DecodeGraphs.POSITION, TensorData.ofLongs(new long[] {length}, 1));
        Map<String, TensorData> out = s.get(DecodeSessions.STEP).run(in);
        length += (int) ids.dim(1);
        for (int i = 0; i < layers; i++) {
            cache.put(DecodeGraphs.past(i, "k"), out.get(DecodeGraphs.present(i, "k")));
            cache.put(DecodeGraphs.past(i, "v"), out.get(DecodeGraphs.present(i, "v")));
        }
        return Generator.lastPosition(out.get(ForwardGraphs.LOGITS));
    }

    @Override
    public void close() {
        cache.clear();
    }
}
