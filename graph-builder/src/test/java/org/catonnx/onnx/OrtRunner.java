package org.catonnx.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Test-side runner: graph-builder has no ONNX Runtime dependency in main code, so its tests
 * run built graphs through ORT's Java API directly (CPU).
 */
public final class OrtRunner {
    private OrtRunner() {}

    public static Map<String, TensorData> run(Graph g, Map<String, TensorData> inputs) {
        return run(new OnnxModel(g).toBytes(), inputs);
    }

    public static Map<String, TensorData> run(byte[] model, Map<String, TensorData> inputs) {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions();
             OrtSession s = env.createSession(model, so)) {
            return run(env, s, inputs);
        } catch (OrtException e) {
            throw new RuntimeException(e);
        }
    }

    public static Map<String, TensorData> run(OrtEnvironment env, OrtSession s, Map<String, TensorData> inputs) throws OrtException {
        Map<String, OnnxTensor> in = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, TensorData> e : inputs.entrySet()) in.put(e.getKey(), toOrt(env, e.getValue()));
            Map<String, TensorData> out = new LinkedHashMap<>();
            try (OrtSession.Result r = s.run(in)) {
                for (Map.Entry<String, OnnxValue> e : r) out.put(e.getKey(), fromOrt((OnnxTensor) e.getValue()));
            }
            return out;
        } finally {
            for (OnnxTensor t : in.values()) t.close();
        }
    }

    static OnnxTensor toOrt(OrtEnvironment env, TensorData d) throws OrtException {
        ByteBuffer b = ByteBuffer.allocateDirect((int) d.byteSize()).order(ByteOrder.nativeOrder());
        b.put(d.bytes()).flip();
        return OnnxTensor.createTensor(env, b, d.shape(), javaType(d.type()));
    }

    static OnnxJavaType javaType(DType t) {
        switch (t) {
            case FLOAT: return OnnxJavaType.FLOAT;
            case DOUBLE: return OnnxJavaType.DOUBLE;
            case FLOAT16: return OnnxJavaType.FLOAT16;
            case BFLOAT16: return OnnxJavaType.BFLOAT16;
            case INT64: return OnnxJavaType.INT64;
            case INT32: return OnnxJavaType.INT32;
            case BOOL: return OnnxJavaType.BOOL;
            case UINT8: return OnnxJavaType.UINT8;
            case INT8: return OnnxJavaType.INT8;
            case INT16: return OnnxJavaType.INT16;
            default: throw new IllegalArgumentException("no ORT Java type for " + t);
        }
    }

    static DType dtypeOf(OnnxJavaType t) {
        for (DType d : DType.values()) {
            try {
                if (javaType(d) == t) return d;
            } catch (IllegalArgumentException ignored) {
                // no ORT Java type for this one
            }
        }
        throw new IllegalArgumentException("unsupported ORT type " + t);
    }

    static TensorData fromOrt(OnnxTensor t) {
        TensorInfo info = t.getInfo();
        DType type = dtypeOf(info.type);
        ByteBuffer src = t.getByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer copy = ByteBuffer.allocate(src.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        copy.put(src).flip();
        return new TensorData(type, info.getShape(), copy);
    }
}
