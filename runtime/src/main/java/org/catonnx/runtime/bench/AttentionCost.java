package org.catonnx.runtime.bench;

import org.catonnx.graphs.AttentionBenchGraphs.Form;
import org.catonnx.graphs.AttentionBenchGraphs.Problem;

/**
 * The work of one attention call under one definition for every form, so that GB/s and TFLOP/s
 * compare across forms: bytes = the elements of q, k, v and y times the element size (what a
 * fused kernel must move at least); FLOPs = 4 * hd per allowed (query, key) pair (q.k and p.v,
 * a multiply and an add each), over B * H. Work a form does on masked-out pairs is not counted.
 *
 * @param bytes minimal bytes moved
 * @param flops useful floating-point operations
 */
public record AttentionCost(long bytes, double flops) {
    public static AttentionCost of(Problem p, Form form, int elementBytes) {
        if (form == Form.EMPTY) return new AttentionCost(0, 0);
        long n = p.positions(form);
        long elements = (long) p.batch() * n * p.headDim() * (2L * p.heads() + 2L * p.kvHeads());
        long pairs = form.isCat() ? catPairs(p.blocks(), p.blockLen()) : causalPairs(n);
        return new AttentionCost(elements * elementBytes, 4.0 * p.headDim() * pairs * p.batch() * p.heads());
    }

    /**
     * Allowed pairs of CAT attention over K1 blocks of S positions (key j visible to query i iff
     * j <= i and (j/S == i/S or j%S == 0)): query t of block b sees t+1 keys of its own block
     * and the first key of each of the b earlier blocks.
     */
    public static long catPairs(long blocks, long s) {
        return blocks * (s * (s + 1) / 2) + s * (blocks * (blocks - 1) / 2);
    }

    /** Allowed pairs of causal attention over n positions. */
    public static long causalPairs(long n) {
        return n * (n + 1) / 2;
    }

    /** Seconds at the roofline: the larger of the time to move the bytes and to do the FLOPs. */
    public double rooflineSeconds(double peakBytesPerSecond, double peakFlopsPerSecond) {
        return Math.max(bytes / peakBytesPerSecond, flops / peakFlopsPerSecond);
    }
}
