package org.catonnx.onnx;

import java.util.Objects;

/** One tensor dimension: a known size, a named symbol (e.g. "batch") or unknown. */
public final class Dim {
    private static final Dim UNKNOWN = new Dim(-1, null);
    private final long size;
    private final String symbol;

    private Dim(long size, String symbol) {
        this.size = size;
        this.symbol = symbol;
    }

    public static Dim of(long size) {
        if (size < 0) throw new IllegalArgumentException("negative dimension " + size);
        return new Dim(size, null);
    }

    public static Dim symbol(String name) {
        return new Dim(-1, Objects.requireNonNull(name));
    }

    public static Dim unknown() {
        return UNKNOWN;
    }

    /** Accepts a Number (static size), a String (symbol) or a Dim. */
    public static Dim from(Object o) {
        if (o instanceof Dim) return (Dim) o;
        if (o instanceof Number) return of(((Number) o).longValue());
        if (o instanceof String) return symbol((String) o);
        if (o == null) return UNKNOWN;
        throw new IllegalArgumentException("not a dimension: " + o);
    }

    public boolean isStatic() { return size >= 0; }
    public boolean isSymbol() { return symbol != null; }
    public long size() {
        if (size < 0) throw new IllegalStateException("dimension " + this + " is not static");
        return size;
    }
    public String symbol() { return symbol; }

    /** True when both are known to be the same extent (same size or same symbol). */
    public boolean sameAs(Dim o) {
        if (isStatic() && o.isStatic()) return size == o.size;
        return symbol != null && symbol.equals(o.symbol);
    }

    /** False only when both are static and differ. */
    public boolean compatible(Dim o) {
        return !(isStatic() && o.isStatic() && size != o.size);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Dim && ((Dim) o).size == size && Objects.equals(((Dim) o).symbol, symbol);
    }

    @Override
    public int hashCode() { return Objects.hash(size, symbol); }

    @Override
    public String toString() {
        return size >= 0 ? Long.toString(size) : symbol != null ? symbol : "?";
    }
}
