package org.catonnx.runtime.verify;

import org.catonnx.exporter.bundle.BundleFormat;
import org.catonnx.runtime.Device;
import org.catonnx.runtime.bound.BoundGenerator;
import org.catonnx.runtime.bound.BoundRuntime;
import org.catonnx.runtime.bound.BoundSession;
import org.catonnx.graphs.ForwardGraphs;
import org.catonnx.models.ModelSpec;
import org.catonnx.onnx.DType;
import org.catonnx.onnx.TensorData;
import org.catonnx.runtime.ModelSession;
import org.catonnx.runtime.bundle.BundleModel;
import org.catonnx.runtime.generate.GenerationConfig;
import org.catonnx.runtime.generate.Generator;
import org.catonnx.runtime.generate.TokenListener;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

/**
 * A bundle agrees with itself: for every chunk size it offers, the cached decode graphs give
 * the forward graph's logits at every position of a generated sequence (prompts of several
 * lengths, over several chunks), and the in-graph generation loop gives the step decoder's tokens.
 * (Checksums, paths and the format were verified when the bundle was opened.)
 */
public final class BundleSelfCheck {
    private BundleSelfCheck() {}

    public static List<Check> run(BundleModel model, Consumer<String> progress) {
        ModelSpec spec = model.spec();
        double tol = model.bundle().precision() == DType.FLOAT ? ReferenceVerifier.LOGITS_TOLERANCE : 5e-2;
        int v = spec.paddedVocabSize();
        List<Check> checks = new ArrayList<>();
        int[] chunks = spec.isCat() ? model.bundle().chunkSizes() : new int[] {0};
        for (int chunk : chunks) {
            int l = Math.max(chunk, 4);
            String where = chunk > 0 ? " chunk " + chunk : "";
            progress.accept("decode graphs vs forward graph" + where);
            double worst = 0;
            List<long[]> prompts = new ArrayList<>();
            try (ModelSession forward = model.forward(chunk); Generator gen = model.generator(chunk)) {
                int n = Math.min(3 * l + 2, spec.blockSize() - (2 * l + 3));
                for (int len : new int[] {Math.max(1, l - 3), l + 1 + l / 2, 2 * l + 3}) {
                    long[] prompt = tokens(len, len, spec.vocabSize());
                    prompts.add(prompt);
                    long[] cont = tokens(n, 100 + len, spec.vocabSize());
                    float[][] cached = gen.teacherForcedLogits(prompt, cont);
                    long[] seq = Arrays.copyOf(prompt, prompt.length + cont.length);
                    System.arraycopy(cont, 0, seq, prompt.length, cont.length);
                    float[] full = forward.run(Map.of(ForwardGraphs.INPUT_IDS, TensorData.ofLongs(seq, 1, seq.length)))
                            .get(ForwardGraphs.LOGITS).toFloats();
                    for (int i = 0; i < cached.length; i++) {
                        int pos = prompt.length - 1 + i;
                        worst = Math.max(worst, Check.maxAbs(cached[i], Arrays.copyOfRange(full, pos * v, (pos + 1) * v)));
                    }
                }
                checks.add(new Check("decode_vs_forward" + (chunk > 0 ? ".c" + chunk : ""), "abs", worst, tol,
                        "3 prompts, " + n + " teacher-forced steps each"));
                if (model.bundle().find("generate", model.checkChunk(chunk)).isPresent()) {
                    progress.accept("in-graph loop vs step decoder" + where);
                    GenerationConfig greedy = GenerationConfig.greedy(n);
                    List<long[]> step = gen.generate(prompts, greedy, TokenListener.NONE);
                    List<long[]> loop = gen.generate(prompts, greedy.withInGraphLoop(true), TokenListener.NONE);
                    int differ = 0;
                    for (int r = 0; r < prompts.size(); r++) if (!Arrays.equals(step.get(r), loop.get(r))) differ++;
                    checks.add(new Check("loop_vs_step" + (chunk > 0 ? ".c" + chunk : ""), "rows", differ, 0, prompts.size() + " prompts x " + n + " tokens"));
                }
                if (model.bundle().find(BundleFormat.FIXED_STEP, model.checkChunk(chunk)).isPresent()) {
                    progress.accept("fixed-shape step graphs (bound) vs step decoder" + where);
                    checks.add(boundVsStep(model, gen, chunk, n, prompts.get(1).length, where));
                }
            }
        }
        return checks;
    }

    /** Bound generation over the fixed step graphs against the step decoder, a full batch of equal-length prompts. */
    private static Check boundVsStep(BundleModel model, Generator gen, int chunk, int n, int length, String where) {
        String name = "bound_vs_step" + (chunk > 0 ? ".c" + chunk : "");
        if (!BoundRuntime.cpuAvailable()) {
            throw new IllegalStateException(name + ": the bundle has fixed-shape step graphs, but bound sessions need the native library, not built here");
        }
        BoundRuntime rt = model.sessionConfig().device() == Device.CUDA ? BoundRuntime.cuda(model.sessionConfig().cudaDeviceId()) : BoundRuntime.cpu();
        try (BoundGenerator bound = model.boundGenerator(rt, chunk, BoundSession.Options.defaults())) {
            List<long[]> prompts = new ArrayList<>();
            for (int r = 0; r < bound.batch(); r++) prompts.add(tokens(length, 500 + r, model.spec().vocabSize()));
            List<long[]> want = gen.generate(prompts, GenerationConfig.greedy(n).withMaxBatch(bound.batch()), TokenListener.NONE);
            List<long[]> got = bound.generate(prompts, n);
            int differ = 0;
            for (int r = 0; r < prompts.size(); r++) if (!Arrays.equals(want.get(r), got.get(r))) differ++;
            return new Check(name, "rows", differ, 0, prompts.size() + " prompts x " + n + " tokens" + where);
        }
    }

    private static long[] tokens(int n, long seed, int vocab) {
        Random r = new Random(seed);
        long[] t = new long[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(vocab);
        return t;
    }
}
