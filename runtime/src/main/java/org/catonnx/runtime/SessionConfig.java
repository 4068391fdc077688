package org.catonnx.runtime;

import org.catonnx.onnx.DType;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * How to open a model session. Immutable; start from {@link #defaults()} and use the withers.
 *
 * @param device             CPU, CUDA or AUTO
 * @param cudaDeviceId       CUDA device ordinal
 * @param tf32               allow TF32 matmuls on CUDA; off by default so float32 results match references
 * @param gpuMemLimitBytes   CUDA arena limit, 0 = unlimited
 * @param disableCpuFallback fail session creation if a node cannot run on CUDA (applied only when CUDA is used)
 * @param intraOpThreads     0 = ONNX Runtime's default
 * @param optimization       graph optimization level
 * @param customOpLibraries  shared libraries registered with registerCustomOpLibrary, in order
 * @param profilingPrefix    when non-null, profiling is enabled and the JSON trace is written with this prefix
 * @param logSeverity        session log severity
 */
public record SessionConfig(Device device, int cudaDeviceId, boolean tf32, long gpuMemLimitBytes,
                            boolean disableCpuFallback, int intraOpThreads, OptLevel optimization,
                            List<Path> customOpLibraries, Path profilingPrefix, OrtLoggingLevel logSeverity) {

    public SessionConfig {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(optimization, "optimization");
        Objects.requireNonNull(logSeverity, "logSeverity");
        if (cudaDeviceId < 0) throw new IllegalArgumentException("cudaDeviceId must be >= 0, got " + cudaDeviceId);
        if (gpuMemLimitBytes < 0) throw new IllegalArgumentException("gpuMemLimitBytes must be >= 0, got " + gpuMemLimitBytes);
        if (intraOpThreads < 0) throw new IllegalArgumentException("intraOpThreads must be >= 0, got " + intraOpThreads);
        customOpLibraries = List.copyOf(customOpLibraries);
    }

    /**
     * Fails early, with the reason, when graphs of this precision cannot run where these sessions
     * will: ONNX Runtime's CPU provider has no bfloat16 MatMul/Expand kernels.
     */
    public void requireSupports(DType precision) {
        boolean cpu = device == Device.CPU || (device == Device.AUTO && !OrtRuntime.cudaAvailable());
        if (precision == DType.BFLOAT16 && cpu) {
            throw new IllegalArgumentException("bfloat16 graphs need the CUDA provider (--device cuda): ONNX Runtime's CPU provider "
                    + "has no bfloat16 MatMul; use float16 or float32 on CPU");
        }
    }

    public static SessionConfig defaults() {
        return new SessionConfig(Device.CPU, 0, false, 0, false, 0, OptLevel.ALL_OPT, List.of(), null,
                OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
    }

    public SessionConfig withDevice(Device d) {
        return new SessionConfig(d, cudaDeviceId, tf32, gpuMemLimitBytes, disableCpuFallback, intraOpThreads, optimization, customOpLibraries, profilingPrefix, logSeverity);
    }

    public SessionConfig withCudaDeviceId(int id) {
        return new SessionConfig(device, id, tf32, gpuMemLimitBytes, disableCpuFallback, intraOpThreads, optimization, customOpLibraries, profilingPrefix, logSeverity);
    }

    public SessionConfig withTf32(boolean on) {
        return new SessionConfig(device, cudaDeviceId, on, gpuMemLimitBytes, disableCpuFallback, intraOpThreads, optimization, customOpLibraries, profilingPrefix, logSeverity);
    }

    public SessionConfig withGpuMemLimitBytes(long bytes) {
        return new SessionConfig(device, cudaDeviceId, tf32, bytes, disableCpuFallback, intraOpThreads, optimization, customOpLibraries, profilingPrefix, logSeverity);
    }

    public SessionConfig withDisableCpuFallback(boolean on) {
        return new SessionConfig(device, cudaDeviceId, tf32, gpuMemLimitBytes, on, intraOpThreads, optimization, customOpLibraries, profilingPrefix, logSeverity);
    }

    public SessionConfig withIntraOpThreads(int n) {
        return new SessionConfig(device, cudaDeviceId, tf32, gpuMemLimitBytes, disableCpuFallback, n, optimization, customOpLibraries, profilingPrefix, logSeverity);
    }

    public SessionConfig withOptimization(OptLevel level) {
        return new SessionConfig(device, cudaDeviceId, tf32, gpuMemLimitBytes, disableCpuFallback, intraOpThreads, level, customOpLibraries, profilingPrefix, logSeverity);
    }

    public SessionConfig withCustomOpLibraries(List<Path> libs) {
        return new SessionConfig(device, cudaDeviceId, tf32, gpuMemLimitBytes, disableCpuFallback, intraOpThreads, optimization, libs, profilingPrefix, logSeverity);
    }

    /** Appends one library to {@link #customOpLibraries()}. */
    public SessionConfig withCustomOpLibrary(Path lib) {
        List<Path> libs = new ArrayList<>(customOpLibraries);
        libs.add(Objects.requireNonNull(lib, "lib"));
        return withCustomOpLibraries(libs);
    }

    /** {@code null} turns profiling off. */
    public SessionConfig withProfilingPrefix(Path prefix) {
        return new SessionConfig(device, cudaDeviceId, tf32, gpuMemLimitBytes, disableCpuFallback, intraOpThreads, optimization, customOpLibraries, prefix, logSeverity);
    }

    public SessionConfig withLogSeverity(OrtLoggingLevel level) {
        return new SessionConfig(device, cudaDeviceId, tf32, gpuMemLimitBytes, disableCpuFallback, intraOpThreads, optimization, customOpLibraries, profilingPrefix, level);
    }
}
