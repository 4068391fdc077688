package org.catonnx.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.catonnx.exporter.bundle.BundleWriter;
import org.catonnx.exporter.bundle.Provenance;
import org.catonnx.exporter.checkpoint.Checkpoint;
import org.catonnx.nn.GraphOptions;
import org.catonnx.models.ModelSpec;
import org.catonnx.models.Presets;
import org.catonnx.models.RandomInit;
import org.catonnx.nn.AttentionForm;
import org.catonnx.nn.WeightSource;
import org.catonnx.onnx.DType;
import org.catonnx.runtime.CustomOps;
import org.catonnx.runtime.ModelSession;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.SessionConfig;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Export a model (a config plus safetensors checkpoint, or a named preset with fresh weights) as a portable bundle: "
                + "every graph per chunk size, one shared weights file and manifest.json. Each graph is loaded in ONNX Runtime "
                + "before the bundle is committed; an interrupted export leaves nothing behind.")
final class ExportCommand implements Callable<Integer> {
    static final class Source {
        @ArgGroup(exclusive = false)
        CheckpointSource checkpoint;

        @ArgGroup(exclusive = false)
        PresetSource preset;
    }

    static final class CheckpointSource {
        @Option(names = "--config", required = true, paramLabel = "FILE", description = "model config.json (golden format)")
        Path config;

        @Option(names = "--checkpoint", required = true, paramLabel = "FILE", description = "weights.safetensors with the reference's names")
        Path checkpoint;
    }

    static final class PresetSource {
        @Option(names = "--preset", required = true, paramLabel = "NAME", description = "a named model shape with reference-initialised weights: ${COMPLETION-CANDIDATES}",
                completionCandidates = PresetNames.class)
        String preset;

        @Option(names = "--seed", defaultValue = "0", description = "seed for the preset's weights (default: ${DEFAULT-VALUE})")
        long seed;
    }

    static final class PresetNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() { return Presets.descriptions().keySet().iterator(); }
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "DIR", description = "bundle directory to create")
    Path out;

    @Option(names = "--chunk-sizes", split = ",", paramLabel = "N", description = "chunk sizes to export (adaptive CAT: a subset of 1,2,4..C; default: all offered)")
    List<Integer> chunkSizes;

    @Mixin
    FusedOperatorOptions fused;

    @Option(names = "--precision", defaultValue = "float32", description = "float32, float16 or bfloat16 (default: ${DEFAULT-VALUE})")
    String precision;

    @Option(names = "--attention", defaultValue = "efficient", description = "CAT attention form: efficient or masked (standard "
            + "ONNX), or custom: our operators (CatAttention, CatDecodeAttention, SwiGlu), the fastest on a GPU; such a bundle "
            + "loads where our native library is registered (the cat-onnx runtime does it; docs/BUNDLE.md) (default: ${DEFAULT-VALUE})")
    String attention;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.json to include")
    Path tokenizer;

    @Option(names = "--fixed-step-batch", defaultValue = "0", paramLabel = "N",
            description = "also export fixed-shape step graphs for batch N (generate --bound: IO binding, CUDA graphs; fixed-chunk CAT and dense)")
    int fixedStepBatch;

    @Option(names = "--archive", description = "also write the bundle as one archive, DIR.cat")
    boolean archive;

    @Option(names = "--force", description = "replace an existing bundle at DIR")
    boolean force;

    @Option(names = "--no-verify", negatable = false, description = "skip loading each graph in ONNX Runtime before committing")
    boolean noVerify;

    @Option(names = "--json", description = "print the result as JSON (progress goes to stderr)")
    boolean json;

    @Override
    public Integer call() throws Exception {
        DType p = DType.parsePrecision(precision);
        AttentionForm form = AttentionForm.parse(attention);
        GraphOptions o = fused.applyTo(new GraphOptions(p, form));
        PrintStream log = json ? System.err : System.out;

        ModelSpec spec;
        WeightSource weights;
        Provenance provenance;
        Checkpoint ckpt = null;
        String label;
        if (source.preset != null) {
            spec = Presets.get(source.preset.preset, 0);
            weights = new RandomInit(spec, source.preset.seed);
            provenance = Provenance.preset(source.preset.preset, source.preset.seed);
            label = "preset " + source.preset.preset + " (seed " + source.preset.seed + ")";
        } else {
            spec = ModelSpec.load(source.checkpoint.config);
            log.println("hashing " + source.checkpoint.checkpoint + " ...");
            provenance = Provenance.checkpoint(source.checkpoint.checkpoint);
            ckpt = Checkpoint.open(source.checkpoint.checkpoint);
            ckpt.requireExactly(spec);
            weights = ckpt;
            label = source.checkpoint.checkpoint.getFileName().toString();
        }
        Path archivePath = archive ? out.toAbsolutePath().normalize().resolveSibling(out.toAbsolutePath().normalize().getFileName() + ".cat") : null;
        BundleWriter w = new BundleWriter(spec, weights).options(o).provenance(provenance).tokenizer(tokenizer)
                .toolVersion(new CatExport.Version().getVersion()[0]).runtimeVersion(OrtRuntime.get().version())
                .overwrite(force).archive(archivePath).progress(line -> log.println("  " + line)).fixedStepBatch(fixedStepBatch);
        if (chunkSizes != null && !chunkSizes.isEmpty()) w.chunkSizes(chunkSizes.stream().mapToInt(Integer::intValue).toArray());
        if (!noVerify) {
            w.check((purpose, chunk, file) -> {
                try (ModelSession s = OrtRuntime.get().open(file, CustomOps.registerIfNeeded(SessionConfig.defaults(), form == AttentionForm.CUSTOM))) {
                    // loading is the check: every node resolved, every external tensor read
                } catch (RuntimeException e) {
                    throw new java.io.IOException(file.getFileName() + " does not load in ONNX Runtime " + OrtRuntime.get().version()
                            + ": " + e.getMessage() + " (on this machine's CPU provider; --no-verify exports anyway, e.g. for a CUDA-only precision)", e);
                }
            });
        }
        log.println("exporting " + label + ": " + spec + ", " + InspectCommand.typeName(p) + ", " + form.name().toLowerCase() + " attention -> " + out);
        BundleWriter.Result r;
        try {
            r = w.write(out);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        } finally {
            if (ckpt != null) ckpt.close();
        }
        if (json) {
            ObjectMapper m = new ObjectMapper();
            ObjectNode root = m.createObjectNode().put("bundle", r.dir().toString());
            if (r.archive() != null) root.put("archive", r.archive().toAbsolutePath().normalize().toString()); else root.putNull("archive");
            root.put("graphs", r.graphCount()).put("parameters", r.parameterCount()).put("bytes", r.totalBytes())
                    .put("verified", !noVerify);
            root.set("manifest", r.manifest());
            System.out.println(m.writerWithDefaultPrettyPrinter().writeValueAsString(root));
        } else {
            System.out.println("exported " + r.graphCount() + " graphs, " + InspectCommand.count(r.parameterCount()) + " parameters, "
                    + org.catonnx.exporter.bundle.BundleFormat.humanSize(r.totalBytes()) + " to " + r.dir() + (r.archive() != null ? " and " + r.archive() : "")
                    + (noVerify ? " (not loaded in ONNX Runtime)" : " (every graph loads in ONNX Runtime " + OrtRuntime.get().version() + ")"));
        }
        return 0;
    }
}
