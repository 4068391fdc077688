package org.catonnx.runtime;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.TensorData;

/** Conversions between {@link TensorData} and {@link OnnxTensor}, always through raw little-endian bytes. */
public final class Tensors {
    private Tensors() {}

    /** The Java-side type ONNX Runtime accepts for an input buffer of this element type, or null if it has none. */
    static OnnxJavaType javaType(DType t) {
        switch (t) {
            case FLOAT: return OnnxJavaType.FLOAT;
            case DOUBLE: return OnnxJavaType.DOUBLE;
            case FLOAT16: return OnnxJavaType.FLOAT16;
            case BFLOAT16: return OnnxJavaType.BFLOAT16;
            case INT64: return OnnxJavaType.INT64;
            case INT32: return OnnxJavaType.INT32;
            case INT16: return OnnxJavaType.INT16;
            case INT8: return OnnxJavaType.INT8;
            case UINT8: return OnnxJavaType.UINT8;
            case BOOL: return OnnxJavaType.BOOL;
            default: return null; // ORT's Java API cannot create unsigned 16/32/64-bit tensors
        }
    }

    /** The element type of a declared or produced tensor, or null when DType has no such type (e.g. string). */
    static DType dtypeOf(TensorInfo info) {
        // OnnxTensorType.value is ORT's own numbering, not the TensorProto code; the names do line up.
        String name = info.onnxType.name().substring("ONNX_TENSOR_ELEMENT_DATA_TYPE_".length());
        for (DType t : DType.values()) {
            if (t.name().equals(name)) return t;
        }
        return null;
    }

    /**
     * Wraps the tensor for ONNX Runtime. A direct buffer is shared, not copied, so the TensorData must stay
     * unchanged until the returned tensor is closed; heap buffers are copied into a direct buffer. Caller closes.
     */
    public static OnnxTensor toOnnx(OrtEnvironment env, TensorData t) {
        OnnxJavaType jt = javaType(t.type());
        if (jt == null) throw new IllegalArgumentException("ONNX Runtime's Java API cannot take " + t.type() + " input tensors");
        // TensorData bytes are little-endian, the native order of every platform ONNX Runtime ships for.
        ByteBuffer buf = t.bytes();
        if (!buf.isDirect()) {
            ByteBuffer direct = ByteBuffer.allocateDirect(buf.remaining()).order(ByteOrder.LITTLE_ENDIAN);
            direct.put(buf).flip();
            buf = direct;
        }
        try {
            return OnnxTensor.createTensor(env, buf, t.shape(), jt);
        } catch (OrtException e) {
            throw new InferenceException("cannot create ONNX Runtime tensor for " + t + ": " + e.getMessage(), e);
        }
    }

    /** Copies the tensor's bytes into a heap buffer owned by the result, so the OnnxTensor can be closed after. */
    public static TensorData fromOnnx(OnnxTensor t) {
        TensorInfo info = t.getInfo();
        DType type = dtypeOf(info);
        if (type == null) throw new IllegalArgumentException("unsupported output element type " + info.onnxType);
        // getByteBuffer() already returns a fresh heap copy in native order; copy only if a future version hands back a view.
        ByteBuffer b = t.getByteBuffer();
        if (b == null) throw new IllegalArgumentException("cannot read bytes of " + info);
        if (b.isDirect()) {
            ByteBuffer copy = ByteBuffer.allocate(b.remaining());
            copy.put(b).flip();
            b = copy;
        }
        return new TensorData(type, info.getShape(), b.order(ByteOrder.LITTLE_ENDIAN));
    }
}
