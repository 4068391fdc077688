package org.catonnx.runtime.train;

/**
 * A seeded generator whose whole state is one long (SplitMix64), so a checkpoint can store it and a resumed run
 * draws exactly the numbers an uninterrupted one would.
 */
public final class SplitMix64 {
    private long state;

    public SplitMix64(long seed) {
        this.state = seed;
    }

    /** The state to store; {@code new SplitMix64(state())} continues the sequence. */
    public long state() { return state; }

    /** Continues from a stored {@link #state()}. */
    public void setState(long s) { state = s; }

    public long nextLong() {
        long z = (state += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, bound), without modulo bias. */
    public long nextLong(long bound) {
        if (bound <= 0) throw new IllegalArgumentException("bound must be positive, got " + bound);
        long limit = Long.remainderUnsigned(-bound, bound); // 2^64 mod bound
        while (true) {
            long r = nextLong();
            if (Long.compareUnsigned(r, limit) >= 0) return Long.remainderUnsigned(r, bound);
        }
    }

    public int nextInt(int bound) {
        return (int) nextLong(bound);
    }
}
