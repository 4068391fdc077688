package org.catonnx.runtime.bound;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.SessionOptions;
import java.nio.file.Path;
import java.util.Optional;
import org.catonnx.runtime.CustomOps;
import org.catonnx.runtime.InferenceException;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.ProviderUnavailableException;

/**
 * The JNI entry points of {@code bound_session.cc} and the loading of the one native library that
 * holds them. Both native libraries export the same JNI symbols, so a JVM loads exactly one of
 * them: the CUDA library when it was built and this ONNX Runtime has the CUDA provider (it also
 * serves host buffers and CPU sessions), else the CPU library.
 *
 * <p>Callers check every handle, offset and size; these methods trust their arguments. A device
 * below zero means host memory and the CPU provider.
 */
final class BoundNative {
    private static Path loaded;
    private static boolean loadedHasCuda;

    private BoundNative() {}

    /**
     * Loads the library once per JVM.
     *
     * @param needCuda CUDA buffers and sessions are wanted
     * @throws ProviderUnavailableException when no suitable library was built, or the CPU library
     *     is already loaded and CUDA is wanted
     */
    static synchronized void load(boolean needCuda) {
        if (loaded != null) {
            if (needCuda && !loadedHasCuda) {
                throw new ProviderUnavailableException("bound CUDA sessions need " + CustomOps.CUDA_LIBRARY + ", but this JVM "
                        + "already loaded " + loaded + " for bound CPU sessions, and both define the same JNI functions: "
                        + "use a separate JVM for CUDA", null);
            }
            return;
        }
        Optional<Path> cudaLib = CustomOps.cudaLibrary();
        boolean useCuda = cudaLib.isPresent() && (needCuda || OrtRuntime.cudaAvailable());
        if (needCuda && cudaLib.isEmpty()) {
            throw new ProviderUnavailableException("bound CUDA sessions need " + CustomOps.CUDA_LIBRARY
                    + ", which was not built (runtime/src/main/native/build.sh builds it when nvcc is found)", null);
        }
        if (!useCuda && !CustomOps.cpuAvailable()) {
            throw new ProviderUnavailableException("bound sessions need the native library " + CustomOps.CPU_LIBRARY
                    + ", which was not built for this platform (Linux x86-64 only; not with -Dcatonnx.native.skip=true)", null);
        }
        Path lib = (useCuda ? cudaLib.get() : CustomOps.cpuLibrary()).toAbsolutePath();
        OrtRuntime.get();  // ORT's one environment, created by the Java API at its log level, before ours refers to it
        // Registering runs RegisterCustomOps, which captures ORT's API for the JNI functions; System.load
        // of the same path then maps the same loaded object, which outlives these options.
        try (SessionOptions options = new SessionOptions()) {
            options.registerCustomOpLibrary(lib.toString());
            System.load(lib.toString());
        } catch (OrtException e) {
            throw new InferenceException("cannot register " + lib + " with ONNX Runtime: " + e.getMessage(), e);
        }
        init();
        loaded = lib;
        loadedHasCuda = useCuda;
    }

    /** The loaded library (null before {@link #load}); it also holds our custom operators. */
    static synchronized Path library() {
        return loaded;
    }

    static native void init();

    static native int cudaDeviceCount();

    static native long allocate(int device, long bytes);

    /** Device memory in use (all processes), bytes; -1 without CUDA. */
    static native long deviceMemoryUsed(int device);

    static native void free(int device, long address);

    /** The device pool's {allocated, peak allocated, reserved} bytes; resetPeak restarts the peak. Null without CUDA. */
    static native long[] poolStats(int device, boolean resetPeak);

    /** {@code bytes} from the primitive array {@code src} (from byte {@code arrayOffset}) to {@code address + offset}. */
    static native void write(int device, long address, long offset, Object src, long arrayOffset, long bytes);

    /** {@code bytes} from {@code address + offset} to the primitive array {@code dst} (from byte {@code arrayOffset}). */
    static native void read(int device, long address, long offset, Object dst, long arrayOffset, long bytes);

    static native void copy(int device, long dst, long dstOffset, long src, long srcOffset, long bytes);

    static native long openSession(String model, int device, boolean cudaGraph, boolean tf32, long gpuMemLimitBytes,
                                   int intraOpThreads, String[] customOpLibraries, boolean devicePool);

    static native String[] names(long session, boolean outputs);

    static native void bind(long session, boolean output, String name, long address, long bytes, int onnxType, long[] shape);

    static native void run(long session);

    static native void closeSession(long session);
}
