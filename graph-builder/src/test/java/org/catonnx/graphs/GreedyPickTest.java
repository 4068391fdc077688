package org.catonnx.graphs;

import org.catonnx.onnx.DType;
import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Node;
import org.catonnx.onnx.Op;
import org.catonnx.onnx.OrtRunner;
import org.catonnx.onnx.TensorData;
import org.catonnx.onnx.Value;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The two-stage greedy pick equals a plain first-index argmax over the real vocabulary. */
class GreedyPickTest {
    @ParameterizedTest(name = "vocab {0} padded {1}")
    @CsvSource({"384,384", "300,384", "32000,32000", "200,256", "97,97", "1000,1024"})
    void equalsFirstIndexArgmaxOverTheRealVocabulary(int vocab, int padded) {
        int rows = 7;
        Random r = new Random(vocab);
        float[] logits = new float[rows * padded];
        for (int i = 0; i < logits.length; i++) logits[i] = (float) r.nextGaussian();
        for (int b = 0; b < rows; b++) {
            int base = b * padded;
            for (int c = vocab; c < padded; c++) logits[base + c] = 100;           // padded rows must never win
            if (b % 3 == 0) {                                                     // a tie across groups: the first wins
                logits[base + vocab - 1] = 50;
                logits[base + Math.min(vocab / 3, vocab - 2)] = 50;
            }
            if (b % 3 == 1) {                                                     // a tie inside one group
                logits[base + 2] = 60;
                logits[base + 1] = 60;
            }
        }
        Graph g = Graph.create("pick");
        Value in = g.input("logits", DType.FLOAT, rows, padded);
        g.output("ids", GreedyPick.pick(g, in, vocab));
        long[] got = OrtRunner.run(g, Map.of("logits", TensorData.ofFloats(logits, rows, padded))).get("ids").toLongs();
        long[] want = new long[rows];
        for (int b = 0; b < rows; b++) {
            int best = 0;
            for (int c = 1; c < vocab; c++) if (logits[b * padded + c] > logits[b * padded + best]) best = c;
            want[b] = best;
        }
        assertArrayEquals(want, got);
        long argMaxes = g.nodes().stream().filter((Node n) -> n.op == Op.ARG_MAX).count();
        assertEquals(padded == 97 ? 1 : 2, argMaxes, "grouped unless no group length divides the row");
    }
}
