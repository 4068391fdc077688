package org.catonnx.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A dense tensor in host memory: element type, shape and little-endian bytes. Shared by
 * initializers, checkpoints and runtime I/O so weights move between them without copies
 * (the buffer may be a slice of a memory-mapped file).
 */
public final class TensorData {
    private final DType type;
    private final long[] shape;
    private final ByteBuffer data;

    public TensorData(DType type, long[] shape, ByteBuffer data) {
        this.type = type;
        this.shape = shape.clone();
        long n = numElements(this.shape);
        long expected = Math.multiplyExact(n, (long) type.bytes);
        if (data.remaining() != expected) {
            throw new IllegalArgumentException("tensor " + type + Arrays.toString(shape) + " needs " + expected
                    + " bytes, buffer has " + data.remaining());
        }
        this.data = data.slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    public static long numElements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public DType type() { return type; }
    public long[] shape() { return shape.clone(); }
    public int rank() { return shape.length; }
    public long dim(int i) { return shape[i < 0 ? shape.length + i : i]; }
    public long numElements() { return numElements(shape); }
    public long byteSize() { return data.remaining(); }

    /** A read-only little-endian view of the bytes (position 0). */
    public ByteBuffer bytes() {
        return data.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    public static TensorData ofFloats(float[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        return new TensorData(DType.FLOAT, shape, b);
    }

    public static TensorData ofDoubles(double[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asDoubleBuffer().put(values);
        return new TensorData(DType.DOUBLE, shape, b);
    }

    public static TensorData ofLongs(long[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        return new TensorData(DType.INT64, shape, b);
    }

    public static TensorData ofInts(int[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(values);
        return new TensorData(DType.INT32, shape, b);
    }

    public static TensorData ofBools(boolean[] values, long... shape) {
        ByteBuffer b = ByteBuffer.allocate(values.length);
        for (boolean v : values) b.put((byte) (v ? 1 : 0));
        b.flip();
        return new TensorData(DType.BOOL, shape, b);
    }

    /** Values as float32, converting from float16/bfloat16/float64 where needed. */
    public float[] toFloats() {
        int n = Math.toIntExact(numElements());
        float[] out = new float[n];
        ByteBuffer b = bytes();
        switch (type) {
            case FLOAT: b.asFloatBuffer().get(out); break;
            case DOUBLE: for (int i = 0; i < n; i++) out[i] = (float) b.getDouble(i * 8); break;
            case FLOAT16: for (int i = 0; i < n; i++) out[i] = HalfFloats.halfToFloat(b.getShort(i * 2)); break;
            case BFLOAT16: for (int i = 0; i < n; i++) out[i] = HalfFloats.bf16ToFloat(b.getShort(i * 2)); break;
            default: throw new IllegalStateException("toFloats on " + type + " tensor");
        }
        return out;
    }

    public double[] toDoubles() {
        if (type == DType.DOUBLE) {
            double[] out = new double[Math.toIntExact(numElements())];
            bytes().asDoubleBuffer().get(out);
            return out;
        }
        float[] f = toFloats();
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) out[i] = f[i];
        return out;
    }

    public long[] toLongs() {
        int n = Math.toIntExact(numElements());
        long[] out = new long[n];
        ByteBuffer b = bytes();
        switch (type) {
            case INT64: b.asLongBuffer().get(out); break;
            case INT32: for (int i = 0; i < n; i++) out[i] = b.getInt(i * 4); break;
            case UINT16: for (int i = 0; i < n; i++) out[i] = b.getShort(i * 2) & 0xFFFF; break;
            case UINT32: for (int i = 0; i < n; i++) out[i] = b.getInt(i * 4) & 0xFFFFFFFFL; break;
            case BOOL: case UINT8: for (int i = 0; i < n; i++) out[i] = b.get(i) & 0xFF; break;
            default: throw new IllegalStateException("toLongs on " + type + " tensor");
        }
        return out;
    }

    /** A rank-2 integer tensor [rows, n] as one long[n] per row (token ids per batch row). */
    public java.util.List<long[]> toLongRows() {
        if (shape.length != 2) throw new IllegalStateException("toLongRows on a rank-" + shape.length + " tensor");
        int rows = Math.toIntExact(shape[0]), n = Math.toIntExact(shape[1]);
        long[] flat = toLongs();
        java.util.List<long[]> out = new java.util.ArrayList<>(rows);
        for (int r = 0; r < rows; r++) out.add(Arrays.copyOfRange(flat, r * n, (r + 1) * n));
        return out;
    }

    /** Converts a floating tensor to another floating type (round to nearest even). */
    public TensorData castTo(DType target) {
        if (target == type) return this;
        float[] f = toFloats();
        ByteBuffer b = ByteBuffer.allocate(f.length * target.bytes).order(ByteOrder.LITTLE_ENDIAN);
        switch (target) {
            case FLOAT: b.asFloatBuffer().put(f); break;
            case DOUBLE: for (float v : f) b.putDouble(v); b.flip(); break;
            case FLOAT16: for (float v : f) b.putShort(HalfFloats.floatToHalf(v)); b.flip(); break;
            case BFLOAT16: for (float v : f) b.putShort(HalfFloats.floatToBf16(v)); b.flip(); break;
            default: throw new IllegalArgumentException("cannot cast " + type + " to " + target);
        }
        return new TensorData(target, shape, b);
    }

    /** Joins tensors of one type along an axis (host side, e.g. to batch cache entries). */
    public static TensorData concat(int axis, TensorData... parts) {
        TensorData first = parts[0];
        long[] shape = first.shape();
        int r = shape.length;
        long along = 0;
        for (TensorData p : parts) {
            if (p.type != first.type || p.rank() != r) throw new IllegalArgumentException("cannot concat " + first + " and " + p);
            for (int i = 0; i < r; i++) {
                if (i != axis && p.shape[i] != shape[i]) throw new IllegalArgumentException("cannot concat " + first + " and " + p + " on axis " + axis);
            }
            along += p.shape[axis];
        }
        shape[axis] = along;
        long outer = 1;
        for (int i = 0; i < axis; i++) outer *= shape[i];
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(numElements(shape) * first.type.bytes)).order(ByteOrder.LITTLE_ENDIAN);
        for (long o = 0; o < outer; o++) {
            for (TensorData p : parts) {
                long inner = p.numElements() / Math.max(1, outer) * p.type.bytes;
                ByteBuffer src = p.bytes();
                src.position((int) (o * inner)).limit((int) ((o + 1) * inner));
                out.put(src);
            }
        }
        out.flip();
        return new TensorData(first.type, shape, out);
    }

    public TensorData reshape(long... newShape) {
        if (numElements(newShape) != numElements()) {
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " to " + Arrays.toString(newShape));
        }
        return new TensorData(type, newShape, data);
    }

    @Override
    public String toString() {
        return type + Arrays.toString(shape);
    }
}
