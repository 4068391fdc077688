package org.catonnx.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Opens {@link ModelSession}s on the process-wide ONNX Runtime environment, choosing the execution provider. */
public final class OrtRuntime {
    public static final String CUDA_PROVIDER = "CUDAExecutionProvider";
    public static final String CPU_PROVIDER = "CPUExecutionProvider";

    private static final String NO_CUDA_BUILD = "this ONNX Runtime build has no CUDA provider: "
            + "use the onnxruntime_gpu artifact (Maven profile gpu, -Pgpu)";
    private static volatile OrtRuntime instance;
    private static volatile Boolean cudaLoads;

    private final OrtEnvironment env;

    private OrtRuntime(OrtEnvironment env) {
        this.env = env;
    }

    public static OrtRuntime get() {
        OrtRuntime r = instance;
        if (r == null) {
            synchronized (OrtRuntime.class) {
                if (instance == null) {
                    // ERROR, not ORT's default WARNING: the environment's warnings would go to stderr unasked.
                    instance = new OrtRuntime(OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "cat-onnx"));
                }
                r = instance;
            }
        }
        return r;
    }

    public OrtEnvironment environment() { return env; }

    public String version() { return env.getVersion(); }

    /** True when this build has the CUDA provider and its libraries load (a GPU may still be absent). */
    public static boolean cudaAvailable() {
        if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) return false;
        Boolean ok = cudaLoads;
        if (ok == null) {
            get();
            try (SessionOptions o = new SessionOptions(); OrtCUDAProviderOptions p = new OrtCUDAProviderOptions(0)) {
                o.addCUDA(p);
                ok = true;
            } catch (OrtException | LinkageError e) {
                ok = false;
            }
            cudaLoads = ok;
        }
        return ok;
    }

    public ModelSession open(Path model, SessionConfig config) {
        if (!Files.isRegularFile(model)) throw new IllegalArgumentException("model file not found: " + model);
        String path = model.toAbsolutePath().toString();
        return open(model.toString(), config, opts -> env.createSession(path, opts));
    }

    public ModelSession open(byte[] model, SessionConfig config) {
        return open("<" + model.length + "-byte model>", config, opts -> env.createSession(model, opts));
    }

    private interface Loader {
        OrtSession load(SessionOptions opts) throws OrtException;
    }

    private ModelSession open(String label, SessionConfig config, Loader loader) {
        switch (config.device()) {
            case CPU:
                return create(label, config, loader, false);
            case CUDA:
                if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
                    throw new ProviderUnavailableException("CUDA was requested but " + NO_CUDA_BUILD, null);
                }
                return create(label, config, loader, true);
            default:
                if (cudaAvailable()) {
                    try {
                        return create(label, config, loader, true);
                    } catch (ProviderUnavailableException e) {
                        // e.g. no visible GPU: AUTO means CPU is acceptable
                    }
                }
                return create(label, config, loader, false);
        }
    }

    private ModelSession create(String label, SessionConfig c, Loader loader, boolean cuda) {
        SessionOptions opts = new SessionOptions();
        boolean ok = false;
        try {
            opts.setOptimizationLevel(c.optimization());
            opts.setSessionLogLevel(c.logSeverity());
            if (c.intraOpThreads() > 0) opts.setIntraOpNumThreads(c.intraOpThreads());
            for (Path lib : c.customOpLibraries()) {
                if (!Files.isRegularFile(lib)) throw new IllegalArgumentException("custom op library not found: " + lib);
                try {
                    opts.registerCustomOpLibrary(lib.toAbsolutePath().toString());
                } catch (OrtException e) {
                    throw new InferenceException("cannot register custom op library " + lib + ": " + e.getMessage(), e);
                }
            }
            if (c.profilingPrefix() != null) opts.enableProfiling(c.profilingPrefix().toString());
            if (cuda) {
                addCuda(opts, c);
                if (c.disableCpuFallback()) opts.addConfigEntry("session.disable_cpu_ep_fallback", "1");
            }
            OrtSession session;
            try {
                session = loader.load(opts);
            } catch (OrtException e) {
                if (cuda && missingCudaPiece(e) != null) throw unavailable(c, e);
                throw new InferenceException("cannot load model " + label + ": " + e.getMessage(), e);
            }
            try {
                // SessionOptions owns the custom op library handles, so it lives as long as the session.
                ModelSession m = new ModelSession(env, session, opts, cuda ? CUDA_PROVIDER : CPU_PROVIDER, label,
                        c.profilingPrefix() != null);
                ok = true;
                return m;
            } finally {
                if (!ok) session.close();
            }
        } catch (OrtException e) {
            throw new InferenceException("cannot configure session for " + label + ": " + e.getMessage(), e);
        } finally {
            if (!ok) opts.close();
        }
    }

    private static void addCuda(SessionOptions opts, SessionConfig c) {
        try (OrtCUDAProviderOptions cudaOpts = new OrtCUDAProviderOptions(c.cudaDeviceId())) {
            cudaOpts.add("use_tf32", c.tf32() ? "1" : "0");
            // growing decode caches allocate ever larger buffers; power-of-two arena growth wastes most of it
            cudaOpts.add("arena_extend_strategy", "kSameAsRequested");
            if (c.gpuMemLimitBytes() > 0) cudaOpts.add("gpu_mem_limit", Long.toString(c.gpuMemLimitBytes()));
            opts.addCUDA(cudaOpts);
        } catch (OrtException | LinkageError e) {
            throw unavailable(c, e);
        }
    }

    private static ProviderUnavailableException unavailable(SessionConfig c, Throwable e) {
        String piece = missingCudaPiece(e);
        String msg = "CUDA was requested (device " + c.cudaDeviceId() + ") but cannot be used: "
                + (piece != null ? piece : "the CUDA execution provider failed to initialise")
                + ". ONNX Runtime said: " + e.getMessage();
        return new ProviderUnavailableException(msg, e);
    }

    /** Names what is missing when ONNX Runtime's error identifies it, else null. */
    static String missingCudaPiece(Throwable e) {
        String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        if (m.contains("libcudnn")) return "cuDNN 9 (libcudnn*.so.9) is not installed or not on the library path";
        if (m.contains("libcublas")) return "cuBLAS 12 (libcublas.so.12, libcublasLt.so.12) is not installed or not on the library path";
        if (m.contains("libcudart")) return "the CUDA 12 runtime (libcudart.so.12) is not installed or not on the library path";
        if (m.contains("libcufft") || m.contains("libcurand")) return "a CUDA 12 library is not installed or not on the library path";
        if (m.contains("no cuda-capable device") || m.contains("cudaerrornodevice")) return "no CUDA device is visible";
        if (m.contains("invalid device ordinal")) return "the CUDA device id is out of range for the visible GPUs";
        if (m.contains("driver version is insufficient")) return "the NVIDIA driver is too old for CUDA 12";
        if (m.contains("failed to find cuda shared provider") || m.contains("providers_cuda")
                || m.contains("not enabled in this build")) return NO_CUDA_BUILD;
        return null;
    }
}
