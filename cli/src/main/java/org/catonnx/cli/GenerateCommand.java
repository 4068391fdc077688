package org.catonnx.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.catonnx.runtime.Device;
import org.catonnx.runtime.SessionConfig;
import org.catonnx.runtime.bound.BoundGenerator;
import org.catonnx.runtime.bound.BoundRuntime;
import org.catonnx.runtime.bound.BoundSession;
import org.catonnx.runtime.bundle.BundleModel;
import org.catonnx.runtime.generate.GenerationConfig;
import org.catonnx.runtime.generate.Generator;
import org.catonnx.runtime.text.TextTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate continuations with a bundle's cached decoder: token ids in and out, or text with a tokenizer.")
final class GenerateCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "BUNDLE", description = "bundle directory or .cat archive")
    Path bundle;

    @Option(names = "--ids", paramLabel = "1,2,3", description = "a prompt as comma-separated token ids; repeat for a batch")
    List<String> ids = new ArrayList<>();

    @Option(names = "--prompt", paramLabel = "TEXT", description = "a prompt as text (needs the bundle's tokenizer.json or --tokenizer); repeat for a batch")
    List<String> prompts = new ArrayList<>();

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "Hugging Face tokenizer.json (default: the bundle's)")
    Path tokenizer;

    @Option(names = "--max-new-tokens", defaultValue = "32", description = "default: ${DEFAULT-VALUE}")
    int maxNewTokens;

    @Option(names = "--stop-ids", split = ",", description = "stop a row when it generates one of these ids")
    long[] stopIds = new long[0];

    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default)")
    double temperature;

    @Option(names = "--top-k", defaultValue = "0", description = "sample among the k best (0 = off)")
    int topK;

    @Option(names = "--top-p", defaultValue = "1", description = "nucleus sampling threshold (1 = off)")
    double topP;

    @Option(names = "--seed", defaultValue = "0", description = "sampling seed (same seed, same output)")
    long seed;

    @Option(names = "--chunk", defaultValue = "0", description = "chunk size for adaptive models (default: the largest)")
    int chunk;

    @Option(names = "--loop", negatable = true,
            description = "run the whole greedy generation as one in-graph ONNX Loop (no per-token host round trips); "
                    + "default: on with CUDA for greedy generation (measured 1.3-3.2x faster there), off otherwise")
    Boolean loop;

    @Option(names = "--bound", description = "greedy generation through the bundle's fixed-shape step graphs (export --fixed-step-batch): "
            + "caches stay on the device, updated in place, each step a CUDA-graph replay on CUDA; up to that batch of equal-length prompts")
    boolean bound;

    @Option(names = "--max-batch", defaultValue = "" + GenerationConfig.DEFAULT_MAX_BATCH,
            description = "refuse more prompts than this in one call (default: ${DEFAULT-VALUE})")
    int maxBatch;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or auto")
    String device;

    @Option(names = "--stream", description = "print tokens as they are generated")
    boolean stream;

    @Option(names = "--json", description = "print the result as JSON")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (ids.isEmpty() == prompts.isEmpty()) throw new IllegalArgumentException("give prompts either as --ids or as --prompt text");
        Set<Long> stop = new HashSet<>();
        for (long s : stopIds) stop.add(s);
        SessionConfig sc = SessionConfig.defaults().withDevice(Device.parse(device));
        boolean onCuda = sc.device() == Device.CUDA || (sc.device() == Device.AUTO && org.catonnx.runtime.OrtRuntime.cudaAvailable());
        try (BundleModel model = BundleModel.open(bundle, sc)) {
            boolean hasLoop = model.bundle().find("generate", model.checkChunk(chunk)).isPresent();
            boolean useLoop = loop != null ? loop : onCuda && temperature == 0 && hasLoop;
            GenerationConfig cfg = new GenerationConfig(maxNewTokens, stop, temperature, topK, topP, seed, useLoop, maxBatch);
            TextTokenizer tok = null;
            if (!prompts.isEmpty()) {
                Path t = tokenizer != null ? tokenizer : model.bundle().tokenizer()
                        .orElseThrow(() -> new IllegalArgumentException("text prompts need a tokenizer: the bundle has none, pass --tokenizer"));
                tok = TextTokenizer.load(t);
            }
            try {
                List<long[]> in = new ArrayList<>();
                if (tok != null) for (String p : prompts) in.add(tok.encode(p));
                else for (String s : ids) in.add(parseIds(s));
                List<long[]> out;
                long t0;
                if (bound) {
                    if (temperature != 0 || !stop.isEmpty() || stream || loop != null) {
                        throw new IllegalArgumentException("--bound generation is greedy and whole: no --temperature, --stop-ids, --stream or --loop");
                    }
                    BoundRuntime rt = onCuda ? BoundRuntime.cuda(sc.cudaDeviceId()) : BoundRuntime.cpu();
                    try (BoundGenerator gen = model.boundGenerator(rt, chunk, BoundSession.Options.defaults().withCudaGraph(onCuda))) {
                        t0 = System.nanoTime();
                        out = generateBound(gen, in);
                    }
                } else {
                    try (Generator gen = model.generator(chunk)) {
                        t0 = System.nanoTime();
                        out = gen.generate(in, cfg, (row, step, token) -> {
                            if (stream && !json) System.out.println("  [" + row + "] +" + token);
                        });
                    }
                }
                double sec = (System.nanoTime() - t0) / 1e9;
                print(in, out, tok, sec);
            } finally {
                if (tok != null) tok.close();
            }
        }
        return 0;
    }

    /** The generator's batch is fixed: rows past the prompts repeat the first one and are dropped. */
    private List<long[]> generateBound(BoundGenerator gen, List<long[]> in) {
        if (in.size() > gen.batch()) {
            throw new IllegalArgumentException(in.size() + " prompts, but the bundle's fixed-shape step graphs take at most " + gen.batch());
        }
        List<long[]> rows = new ArrayList<>(in);
        while (rows.size() < gen.batch()) rows.add(in.get(0));
        return new ArrayList<>(gen.generate(rows, maxNewTokens).subList(0, in.size()));
    }

    private void print(List<long[]> in, List<long[]> out, TextTokenizer tok, double sec) throws Exception {
        long total = out.stream().mapToLong(a -> a.length).sum();
        if (json) {
            ObjectMapper m = new ObjectMapper();
            ArrayNode arr = m.createArrayNode();
            for (int i = 0; i < out.size(); i++) {
                ObjectNode o = arr.addObject();
                ArrayNode p = o.putArray("prompt_ids");
                for (long t : in.get(i)) p.add(t);
                ArrayNode g = o.putArray("generated_ids");
                for (long t : out.get(i)) g.add(t);
                if (tok != null) o.put("text", tok.decode(out.get(i)));
            }
            ObjectNode root = m.createObjectNode().put("seconds", sec).put("new_tokens", total);
            root.set("results", arr);
            System.out.println(m.writerWithDefaultPrettyPrinter().writeValueAsString(root));
            return;
        }
        for (int i = 0; i < out.size(); i++) {
            System.out.println("prompt " + i + ": " + Arrays.toString(in.get(i)));
            System.out.println("  generated: " + Arrays.toString(out.get(i)));
            if (tok != null) System.out.println("  text: " + tok.decode(out.get(i)));
        }
        System.out.printf("%d new tokens in %.2f s (%.1f tokens/s)%n", total, sec, total / sec);
    }

    static long[] parseIds(String s) {
        String[] parts = s.split(",");
        long[] ids = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Long.parseLong(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not a token id: '" + parts[i] + "' in --ids " + s);
            }
        }
        return ids;
    }
}
