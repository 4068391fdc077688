package org.catonnx.onnx;

import ai.onnx.proto.OnnxMl;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Serializes a built graph as an ONNX ModelProto (IR 10, opset 21 + our domain when used). */
public final class OnnxModel {
    public static final long IR_VERSION = 10;
    public static final String PRODUCER = "cat-onnx";

    private final Graph graph;
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public OnnxModel(Graph graph) {
        if (!graph.isRoot()) throw new IllegalArgumentException("only a root graph is a model");
        if (graph.outputs().isEmpty()) throw new GraphBuildException("graph " + graph.name() + " has no outputs");
        this.graph = graph;
    }

    public OnnxModel metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Every initializer embedded: only for models under 2 GB. */
    public OnnxMl.ModelProto toProto() {
        try {
            return toProto(null, 0);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Initializers of at least minExternalBytes go to the external data file (once per name). */
    public OnnxMl.ModelProto toProto(ExternalData external, long minExternalBytes) throws IOException {
        OnnxMl.ModelProto.Builder m = OnnxMl.ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .setProducerName(PRODUCER)
                .setGraph(graphProto(graph, external, minExternalBytes));
        Set<String> domains = new TreeSet<>();
        collectDomains(graph, domains);
        m.addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain(Domains.ONNX).setVersion(Domains.ONNX_OPSET));
        if (domains.contains(Domains.CAT)) {
            m.addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain(Domains.CAT).setVersion(Domains.CAT_OPSET));
        }
        if (domains.contains(Domains.MS)) {
            m.addOpsetImport(OnnxMl.OperatorSetIdProto.newBuilder().setDomain(Domains.MS).setVersion(Domains.MS_OPSET));
        }
        metadata.forEach((k, v) -> m.addMetadataProps(OnnxMl.StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return m.build();
    }

    public byte[] toBytes() {
        return toProto().toByteArray();
    }

    /** Writes the model; with external data, the data file is written beside it. */
    public void write(Path modelFile, ExternalData external, long minExternalBytes) throws IOException {
        OnnxMl.ModelProto p = toProto(external, minExternalBytes);
        try (OutputStream out = Files.newOutputStream(modelFile)) {
            p.writeTo(out);
        }
    }

    /** True when the graph uses operators of our own domain (needs the custom-op library). */
    public boolean usesCustomOps() {
        Set<String> d = new TreeSet<>();
        collectDomains(graph, d);
        return d.contains(Domains.CAT);
    }

    /** True when the graph uses ONNX Runtime's contrib operators (com.microsoft; fused decoding): ONNX Runtime only. */
    public boolean usesOnnxRuntimeContribOps() {
        Set<String> d = new TreeSet<>();
        collectDomains(graph, d);
        return d.contains(Domains.MS);
    }

    private static void collectDomains(Graph g, Set<String> out) {
        for (Node n : g.nodes()) {
            out.add(n.op.domain);
            for (Object a : n.attributes.values()) if (a instanceof Graph) collectDomains((Graph) a, out);
        }
    }

    private static OnnxMl.GraphProto graphProto(Graph g, ExternalData external, long minExternal) throws IOException {
        OnnxMl.GraphProto.Builder b = OnnxMl.GraphProto.newBuilder().setName(g.name());
        for (Node n : g.nodes()) b.addNode(nodeProto(n, external, minExternal));
        for (Value v : g.inputs()) b.addInput(valueInfo(v));
        for (Value v : g.outputs()) b.addOutput(valueInfo(v));
        if (g.isRoot()) {
            for (Graph.Initializer init : g.initializers().values()) {
                // small int constants (shapes, axes, k) stay inline: ORT's load-time shape inference cannot read them from external data
                ExternalData ext = init.value.constant() != null ? null : external;
                b.addInitializer(tensorProto(init.value.name(), init.data, ext, minExternal));
            }
        }
        return b.build();
    }

    private static OnnxMl.NodeProto nodeProto(Node n, ExternalData external, long minExternal) throws IOException {
        OnnxMl.NodeProto.Builder b = OnnxMl.NodeProto.newBuilder().setName(n.name).setOpType(n.op.onnxType).setDomain(n.op.domain);
        for (Value v : n.inputs) b.addInput(v == null ? "" : v.name());
        for (Value v : n.outputs) b.addOutput(v == null ? "" : v.name());
        for (Map.Entry<String, Object> e : n.attributes.entrySet()) {
            b.addAttribute(attribute(e.getKey(), e.getValue(), external, minExternal));
        }
        return b.build();
    }

    private static OnnxMl.AttributeProto attribute(String name, Object v, ExternalData external, long minExternal) throws IOException {
        OnnxMl.AttributeProto.Builder a = OnnxMl.AttributeProto.newBuilder().setName(name);
        AttrType t = AttrType.of(v);
        a.setType(OnnxMl.AttributeProto.AttributeType.forNumber(t.code));
        switch (t) {
            case INT: a.setI(((Number) v).longValue()); break;
            case FLOAT: a.setF(((Number) v).floatValue()); break;
            case STRING: a.setS(ByteString.copyFromUtf8((String) v)); break;
            case TENSOR: a.setT(tensorProto("value", (TensorData) v, null, 0)); break;
            case GRAPH: a.setG(graphProto((Graph) v, external, minExternal)); break;
            case FLOATS: for (float f : (float[]) v) a.addFloats(f); break;
            case INTS:
                if (v instanceof int[]) for (int i : (int[]) v) a.addInts(i);
                else for (long l : (long[]) v) a.addInts(l);
                break;
            default: throw new AssertionError(t);
        }
        return a.build();
    }

    static OnnxMl.TensorProto tensorProto(String name, TensorData d, ExternalData external, long minExternal) throws IOException {
        OnnxMl.TensorProto.Builder t = OnnxMl.TensorProto.newBuilder().setName(name).setDataType(d.type().onnx);
        for (long s : d.shape()) t.addDims(s);
        if (external != null && d.byteSize() >= minExternal) {
            ExternalData.Ref r = external.put(name, d);
            t.setDataLocation(OnnxMl.TensorProto.DataLocation.EXTERNAL);
            t.addExternalData(entry("location", r.location));
            t.addExternalData(entry("offset", Long.toString(r.offset)));
            t.addExternalData(entry("length", Long.toString(r.length)));
        } else {
            // wraps the (possibly memory-mapped) buffer without copying it
            t.setRawData(UnsafeByteOperations.unsafeWrap(d.bytes()));
        }
        return t.build();
    }

    private static OnnxMl.StringStringEntryProto entry(String k, String v) {
        return OnnxMl.StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    static OnnxMl.ValueInfoProto valueInfo(Value v) {
        OnnxMl.TypeProto.Tensor.Builder tt = OnnxMl.TypeProto.Tensor.newBuilder().setElemType(v.type().onnx);
        if (v.shape().hasRank()) {
            OnnxMl.TensorShapeProto.Builder s = OnnxMl.TensorShapeProto.newBuilder();
            for (Dim d : v.shape().dims()) {
                OnnxMl.TensorShapeProto.Dimension.Builder db = OnnxMl.TensorShapeProto.Dimension.newBuilder();
                if (d.isStatic()) db.setDimValue(d.size());
                else if (d.isSymbol()) db.setDimParam(d.symbol());
                s.addDim(db);
            }
            tt.setShape(s);
        }
        return OnnxMl.ValueInfoProto.newBuilder().setName(v.name())
                .setType(OnnxMl.TypeProto.newBuilder().setTensorType(tt)).build();
    }
}
