package org.catonnx.onnx;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/** A tensor shape whose dimensions may be symbolic or unknown; the rank itself may be unknown. */
public final class Shape {
    private static final Shape UNKNOWN_RANK = new Shape(null);
    private final List<Dim> dims;

    private Shape(List<Dim> dims) {
        this.dims = dims == null ? null : Collections.unmodifiableList(new ArrayList<>(dims));
    }

    /** Dimensions given as numbers, symbol names or Dims. */
    public static Shape of(Object... dims) {
        List<Dim> l = new ArrayList<>();
        for (Object o : dims) l.add(Dim.from(o));
        return new Shape(l);
    }

    public static Shape of(List<Dim> dims) { return new Shape(dims); }

    public static Shape ofStatic(long... dims) {
        List<Dim> l = new ArrayList<>();
        for (long d : dims) l.add(Dim.of(d));
        return new Shape(l);
    }

    public static Shape scalar() { return new Shape(List.of()); }

    public static Shape unknownRank() { return UNKNOWN_RANK; }

    public static Shape unknown(int rank) {
        return new Shape(Collections.nCopies(rank, Dim.unknown()));
    }

    public boolean hasRank() { return dims != null; }

    public int rank() {
        if (dims == null) throw new IllegalStateException("shape has unknown rank");
        return dims.size();
    }

    public List<Dim> dims() {
        if (dims == null) throw new IllegalStateException("shape has unknown rank");
        return dims;
    }

    /** Dimension i; negative i counts from the end. */
    public Dim dim(int i) {
        int r = rank();
        int k = i < 0 ? i + r : i;
        if (k < 0 || k >= r) throw new IndexOutOfBoundsException("axis " + i + " out of range for rank " + r);
        return dims.get(k);
    }

    public boolean isStatic() {
        if (dims == null) return false;
        for (Dim d : dims) if (!d.isStatic()) return false;
        return true;
    }

    public long[] toArray() {
        long[] a = new long[rank()];
        for (int i = 0; i < a.length; i++) a[i] = dims.get(i).size();
        return a;
    }

    public long numElements() {
        long n = 1;
        for (long d : toArray()) n = Math.multiplyExact(n, d);
        return n;
    }

    public Shape with(int axis, Dim d) {
        List<Dim> l = new ArrayList<>(dims());
        l.set(axis < 0 ? axis + l.size() : axis, d);
        return new Shape(l);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape && java.util.Objects.equals(((Shape) o).dims, dims);
    }

    @Override
    public int hashCode() { return java.util.Objects.hashCode(dims); }

    @Override
    public String toString() {
        return dims == null ? "[?..]" : dims.toString().replace(" ", "");
    }

    static String str(long[] a) { return Arrays.toString(a).replace(" ", ""); }
}
