package org.catonnx.runtime;

import ai.onnx.proto.OnnxMl;
import java.util.List;
import org.catonnx.onnx.DType;

/** Hand-built single-op ONNX models (IR 10, opset 21) for tests. */
final class TinyModels {
    private TinyModels() {}

    /** Dimensions below zero become the symbolic dimension "n". */
    static OnnxMl.ValueInfoProto value(String name, DType type, long... dims) {
        OnnxMl.TensorShapeProto.Builder shape = OnnxMl.TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(d < 0 ? OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimParam("n")
                    : OnnxMl.TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        OnnxMl.TypeProto.Tensor tensor = OnnxMl.TypeProto.Tensor.newBuilder().setElemType(type.onnx).setShape(shape).build();
        return OnnxMl.ValueInfoProto.newBuilder().setName(name)
                .setType(OnnxMl.TypeProto.newBuilder().setTensorType(tensor)).build();
    }

    static OnnxMl.NodeProto node(String op, List<String> in, List<String> out, OnnxMl.AttributeProto... attrs) {
        return OnnxMl.NodeProto.newBuilder().setOpType(op).setName(op + "_" + out.get(0))
                .addAllInput(in).addAllOutput(out).addAllAttribute(List.of(attrs)).build();
    }

    static OnnxMl.AttributeProto intAttr(String name, long v) {
        return OnnxMl.AttributeProto.newBuilder().setName(name)
                .setType(OnnxMl.AttributeProto.AttributeType.INT).setI(v).build();
    }

    static byte[] model(List<OnnxMl.NodeProto> nodes, List<OnnxMl.ValueInfoProto> in, List<OnnxMl.ValueInfoProto> out) {
        OnnxMl.GraphProto g = OnnxMl.GraphProto.newBuilder().setName("tiny")
                .addAllNode(nodes).addAllInput(in).addAllOutput(out).build();
        return OnnxMl.ModelProto.newBuilder().setIrVersion(10).setProducerName("cat-onnx-test")
                .addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain("").setVersion(21))
                .setGraph(g).build().toByteArray();
    }

    /** c = a + b over float vectors of any length. */
    static byte[] addFloat() {
        return model(List.of(node("Add", List.of("a", "b"), List.of("c"))),
                List.of(value("a", DType.FLOAT, -1), value("b", DType.FLOAT, -1)),
                List.of(value("c", DType.FLOAT, -1)));
    }

    /** sum = a + b, prod = a * b. */
    static byte[] addMul() {
        return model(List.of(node("Add", List.of("a", "b"), List.of("sum")), node("Mul", List.of("a", "b"), List.of("prod"))),
                List.of(value("a", DType.FLOAT, 2), value("b", DType.FLOAT, 2)),
                List.of(value("sum", DType.FLOAT, 2), value("prod", DType.FLOAT, 2)));
    }

    static byte[] identity(DType type, long... dims) {
        return model(List.of(node("Identity", List.of("x"), List.of("y"))),
                List.of(value("x", type, dims)), List.of(value("y", type, dims)));
    }

    static byte[] cast(DType from, DType to) {
        return model(List.of(node("Cast", List.of("x"), List.of("y"), intAttr("to", to.onnx))),
                List.of(value("x", from, -1)), List.of(value("y", to, -1)));
    }
}
