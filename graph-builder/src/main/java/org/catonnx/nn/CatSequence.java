package org.catonnx.nn;

import org.catonnx.onnx.Graph;
import org.catonnx.onnx.Value;

/**
 * The interleaved decoder sequence of CAT, kept as blocks [B, K+1, S, D] rather than flat:
 * block k = [summary of chunk k-1 (dummy for k=0), (separator), l token embeddings].
 * The last block holds f(c_{K-1}) plus padding tokens whose outputs are discarded; they
 * cannot affect anything else since nothing attends to a later block's tokens.
 */
public final class CatSequence {
    private CatSequence() {}

    /** Concatenates the per-block prefix vectors [B,K1,1,D] (one or two) and tokens [B,K1,l,D]. */
    public static Value assemble(Graph g, Value tokens, Value... prefix) {
        Value[] parts = new Value[prefix.length + 1];
        System.arraycopy(prefix, 0, parts, 0, prefix.length);
        parts[prefix.length] = tokens;
        return g.concat(2, parts);
    }

    /**
     * Hidden states that predict each token's successor (CAT.md section 3): token j < l-1 of
     * chunk k reads its own position, token l-1 reads the summary position of block k+1
     * (the separator in adaptive CAT). Returns [B, K*l, D].
     * @param offset index of the first token inside a block (1, or 2 with a separator)
     */
    public static Value tokenOutputs(Graph g, Value y, int chunk, int offset) {
        Value last = g.slice(g.slice(y, 1, 1, Long.MAX_VALUE), 2, offset - 1, offset);   // [B,K,1,D]
        Value perChunk = last;
        if (chunk > 1) {
            Value own = g.slice(g.slice(y, 1, 0, -1), 2, offset, offset + chunk - 1);   // [B,K,l-1,D]
            perChunk = g.concat(2, own, last);
        }
        long d = y.dim(-1).size();
        return g.reshape(perChunk, 0, -1, d);
    }

    /** A learned vector [rows, D] row r broadcast to [B, n, 1, D]; shape is [B, n, 1, 1] as int64. */
    public static Value broadcastRow(Graph g, Value table, long row, Value bn11) {
        long d = table.dim(1).size();
        Value r = g.reshape(g.slice(table, 0, row, row + 1), 1, 1, 1, d);
        return g.expand(r, bn11);
    }
}
