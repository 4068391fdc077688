package org.catonnx.runtime.bound;

import java.util.Arrays;
import java.util.Objects;
import org.catonnx.onnx.DType;

/**
 * A tensor-sized block of memory owned by us, not by ONNX Runtime: host memory (256-byte aligned)
 * for the CPU runtime, device memory for CUDA. Zero-filled when allocated. Sessions bind it by
 * address, so what is written here is what the next run reads, and outputs bound to it land here.
 *
 * <p>Element offsets and counts are in elements of {@link #type()}; byte methods in bytes. Values
 * are in the machine's (little-endian) order, as ONNX tensors are. Not thread-safe; writes and
 * reads are synchronous (complete on return).
 */
public final class BoundBuffer implements AutoCloseable {
    private final int device;
    private final DType type;
    private final long[] shape;
    private final long elements;
    private final long bytes;
    private long address;  // 0 once closed

    BoundBuffer(int device, DType type, long[] shape) {
        this.device = device;
        this.type = Objects.requireNonNull(type, "type");
        this.shape = shape.clone();
        this.elements = elements(this.shape);
        this.bytes = byteSize(elements, type);
        this.address = BoundNative.allocate(device, bytes);
    }

    public DType type() {
        return type;
    }

    public long[] shape() {
        return shape.clone();
    }

    public long bytes() {
        return bytes;
    }

    /** Writes int64 (or uint64) values from element {@code elementOffset} on. */
    public void write(long[] values, long elementOffset) {
        requireType(values.length, elementOffset, DType.INT64, DType.UINT64);
        BoundNative.write(device, address(), elementOffset * type.bytes, values, 0, (long) values.length * type.bytes);
    }

    /** Writes int32 (or uint32) values from element {@code elementOffset} on. */
    public void write(int[] values, long elementOffset) {
        requireType(values.length, elementOffset, DType.INT32, DType.UINT32);
        BoundNative.write(device, address(), elementOffset * type.bytes, values, 0, (long) values.length * type.bytes);
    }

    /** Writes float32 values from element {@code elementOffset} on. */
    public void write(float[] values, long elementOffset) {
        requireType(values.length, elementOffset, DType.FLOAT);
        BoundNative.write(device, address(), elementOffset * type.bytes, values, 0, (long) values.length * type.bytes);
    }

    /** Writes raw bytes (any element type) from byte {@code byteOffset} on. */
    public void writeBytes(byte[] data, long byteOffset) {
        checkOpen();
        checkRange("byte", byteOffset, data.length, bytes);
        BoundNative.write(device, address(), byteOffset, data, 0, data.length);
    }

    /** Reads {@code count} int64 (or uint64) values from element {@code elementOffset} on. */
    public long[] readLongs(long elementOffset, int count) {
        requireType(count, elementOffset, DType.INT64, DType.UINT64);
        long[] out = new long[count];
        BoundNative.read(device, address(), elementOffset * type.bytes, out, 0, (long) count * type.bytes);
        return out;
    }

    /** Reads {@code count} int32 (or uint32) values from element {@code elementOffset} on. */
    public int[] readInts(long elementOffset, int count) {
        requireType(count, elementOffset, DType.INT32, DType.UINT32);
        int[] out = new int[count];
        BoundNative.read(device, address(), elementOffset * type.bytes, out, 0, (long) count * type.bytes);
        return out;
    }

    /** Reads {@code count} float32 values from element {@code elementOffset} on. */
    public float[] readFloats(long elementOffset, int count) {
        requireType(count, elementOffset, DType.FLOAT);
        float[] out = new float[count];
        BoundNative.read(device, address(), elementOffset * type.bytes, out, 0, (long) count * type.bytes);
        return out;
    }

    /** Reads {@code count} raw bytes from byte {@code byteOffset} on. */
    public byte[] readBytes(long byteOffset, int count) {
        checkOpen();
        checkRange("byte", byteOffset, count, bytes);
        byte[] out = new byte[count];
        BoundNative.read(device, address(), byteOffset, out, 0, count);
        return out;
    }

    /**
     * Copies {@code count} elements of {@code src} (from {@code srcElementOffset}) here (from
     * {@code dstElementOffset}), on the device. The element sizes must match; ranges within one
     * buffer must not overlap.
     */
    public void copyFrom(BoundBuffer src, long srcElementOffset, long dstElementOffset, long count) {
        Objects.requireNonNull(src, "src");
        checkOpen();
        src.checkOpen();
        if (src.device != device) throw new IllegalArgumentException("cannot copy between devices: " + src + " -> " + this);
        if (src.type.bytes != type.bytes) {
            throw new IllegalArgumentException("element sizes differ: " + src.type + " (" + src.type.bytes + " bytes) -> "
                    + type + " (" + type.bytes + " bytes)");
        }
        checkRange("source element", srcElementOffset, count, src.elements);
        checkRange("destination element", dstElementOffset, count, elements);
        if (src == this && count > 0 && srcElementOffset < dstElementOffset + count && dstElementOffset < srcElementOffset + count) {
            throw new IllegalArgumentException("overlapping copy within one buffer: elements [" + srcElementOffset + ", "
                    + (srcElementOffset + count) + ") -> [" + dstElementOffset + ", " + (dstElementOffset + count) + ")");
        }
        BoundNative.copy(device, address(), dstElementOffset * type.bytes, src.address(), srcElementOffset * type.bytes,
                count * type.bytes);
    }

    /** Frees the memory; harmless when already closed. Sessions refuse to run while a closed buffer is bound. */
    @Override
    public void close() {
        long a = address;
        if (a == 0) return;
        address = 0;
        BoundNative.free(device, a);
    }

    boolean isOpen() {
        return address != 0;
    }

    int device() {
        return device;
    }

    /** The memory's address. */
    long address() {
        checkOpen();
        return address;
    }

    private void checkOpen() {
        if (address == 0) throw new IllegalStateException("buffer " + this + " is closed");
    }

    /** Elements times element size, for a view of this buffer's bytes with another shape. */
    static long byteSize(long[] shape, DType type) {
        return byteSize(elements(shape), type);
    }

    private static long byteSize(long elements, DType type) {
        try {
            return Math.multiplyExact(elements, type.bytes);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(elements + " elements of " + type + " overflow a long byte size");
        }
    }

    private static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more than 2^63 elements");
            }
        }
        return n;
    }

    private void requireType(int count, long elementOffset, DType... allowed) {
        checkOpen();  // first: a closed buffer is the error, whatever the arguments
        if (!Arrays.asList(allowed).contains(type)) {
            throw new IllegalArgumentException("this buffer holds " + type + ", not " + Arrays.toString(allowed));
        }
        checkRange("element", elementOffset, count, elements);
    }

    private static void checkRange(String unit, long offset, long count, long size) {
        if (offset < 0 || count < 0 || offset > size - count) {
            throw new IllegalArgumentException(unit + " range [" + offset + ", " + offset + " + " + count + ") is outside [0, "
                    + size + ")");
        }
    }

    @Override
    public String toString() {
        return type + Arrays.toString(shape) + (device < 0 ? " on host" : " on cuda:" + device) + (address == 0 ? " (closed)" : "");
    }
}
