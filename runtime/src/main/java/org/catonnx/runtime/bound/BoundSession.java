package org.catonnx.runtime.bound;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An ONNX Runtime session whose inputs and outputs are bound to {@link BoundBuffer}s: {@link #run()}
 * reads the input buffers and writes the output buffers in place, with no copies through Java.
 * Bindings stay until replaced, so a loop binds once and then only writes inputs and runs. An output
 * may be bound to the same buffer as an input (a cache updated in place). With
 * {@link Options#cudaGraph()}, ONNX Runtime captures the first runs as a CUDA graph and replays it
 * afterwards, which needs the same buffers (addresses) and shapes on every run. Note that ONNX
 * Runtime executes the graph several times inside the first {@link #run()} (warm-up, capture,
 * replay; measured: 3 on 1.29), so a graph whose run is not idempotent, such as an output bound to
 * an input it transforms, must do its first run on values where that does not matter.
 *
 * <p>Not thread-safe. Unbound outputs are not computed into any buffer.
 */
public final class BoundSession implements AutoCloseable {
    private final int device;
    private final String label;
    private final List<String> inputNames;
    private final List<String> outputNames;
    private final Map<String, BoundBuffer> inputs = new HashMap<>();
    private final Map<String, BoundBuffer> outputs = new HashMap<>();
    private long handle;  // 0 once closed

    /**
     * How to open a session. Immutable; start from {@link #defaults()} and use the withers.
     *
     * @param cudaGraph         let ONNX Runtime capture and replay CUDA graphs (CUDA only; every node must run
     *                          on CUDA, and bindings and shapes must not change between runs)
     * @param tf32              allow TF32 matmuls on CUDA (ignored on CPU); off so float32 results match references
     * @param gpuMemLimitBytes  CUDA arena limit, 0 = none (ignored on CPU); a limit gives the session ONNX
     *                          Runtime's own arena instead of the device pool
     * @param intraOpThreads    0 = ONNX Runtime's default
     * @param customOpLibraries shared libraries registered with the session, in order
     * @param devicePool        on CUDA, ONNX Runtime allocates from the runtime's device pool (one per
     *                          device, counted: {@link BoundRuntime#poolStats}) instead of an arena per session
     */
    public record Options(boolean cudaGraph, boolean tf32, long gpuMemLimitBytes, int intraOpThreads,
                          List<Path> customOpLibraries, boolean devicePool) {
        public Options {
            if (gpuMemLimitBytes < 0) throw new IllegalArgumentException("gpuMemLimitBytes must be >= 0, got " + gpuMemLimitBytes);
            if (intraOpThreads < 0) throw new IllegalArgumentException("intraOpThreads must be >= 0, got " + intraOpThreads);
            customOpLibraries = List.copyOf(customOpLibraries);
        }

        public static Options defaults() {
            return new Options(false, false, 0, 0, List.of(), true);
        }

        public Options withCudaGraph(boolean on) {
            return new Options(on, tf32, gpuMemLimitBytes, intraOpThreads, customOpLibraries, devicePool);
        }

        public Options withTf32(boolean on) {
            return new Options(cudaGraph, on, gpuMemLimitBytes, intraOpThreads, customOpLibraries, devicePool);
        }

        public Options withGpuMemLimitBytes(long bytes) {
            return new Options(cudaGraph, tf32, bytes, intraOpThreads, customOpLibraries, devicePool);
        }

        public Options withIntraOpThreads(int n) {
            return new Options(cudaGraph, tf32, gpuMemLimitBytes, n, customOpLibraries, devicePool);
        }

        /** Whether a CUDA session allocates from the device pool: asked for, and no arena limit set. */
        public boolean usesDevicePool() {
            return devicePool && gpuMemLimitBytes == 0;
        }

        public Options withDevicePool(boolean on) {
            return new Options(cudaGraph, tf32, gpuMemLimitBytes, intraOpThreads, customOpLibraries, on);
        }

        /** Appends one library to {@link #customOpLibraries()}. */
        public Options withCustomOpLibrary(Path lib) {
            List<Path> libs = new ArrayList<>(customOpLibraries);
            libs.add(Objects.requireNonNull(lib, "lib"));
            return new Options(cudaGraph, tf32, gpuMemLimitBytes, intraOpThreads, libs, devicePool);
        }
    }

    BoundSession(int device, Path model, Options options) {
        Objects.requireNonNull(options, "options");
        if (!Files.isRegularFile(model)) throw new IllegalArgumentException("model file not found: " + model);
        if (options.cudaGraph() && device < 0) throw new IllegalArgumentException("CUDA graphs need a CUDA runtime, not the CPU one");
        String[] libs = new String[options.customOpLibraries().size()];
        for (int i = 0; i < libs.length; i++) {
            Path lib = options.customOpLibraries().get(i);
            if (!Files.isRegularFile(lib)) throw new IllegalArgumentException("custom op library not found: " + lib);
            libs[i] = lib.toAbsolutePath().toString();
        }
        this.device = device;
        this.label = model.toString();
        this.handle = BoundNative.openSession(model.toAbsolutePath().toString(), device, options.cudaGraph(), options.tf32(),
                options.gpuMemLimitBytes(), options.intraOpThreads(), libs, options.usesDevicePool());
        boolean ok = false;
        try {
            this.inputNames = List.of(BoundNative.names(handle, false));
            this.outputNames = List.of(BoundNative.names(handle, true));
            ok = true;
        } finally {
            if (!ok) close();
        }
    }

    /** The graph's input names, in order. */
    public List<String> inputNames() {
        checkOpen();
        return inputNames;
    }

    /** The graph's output names, in order. */
    public List<String> outputNames() {
        checkOpen();
        return outputNames;
    }

    /** Binds input {@code name} to {@code buffer} with the buffer's own shape. */
    public void bindInput(String name, BoundBuffer buffer) {
        bindInput(name, buffer, buffer.shape());
    }

    /** Binds input {@code name} to the leading bytes of {@code buffer}, viewed with {@code shape}. */
    public void bindInput(String name, BoundBuffer buffer, long... shape) {
        bind(false, name, buffer, shape);
    }

    /** Binds output {@code name} to {@code buffer} with the buffer's own shape. */
    public void bindOutput(String name, BoundBuffer buffer) {
        bindOutput(name, buffer, buffer.shape());
    }

    /** Binds output {@code name} to the leading bytes of {@code buffer}, viewed with {@code shape}. */
    public void bindOutput(String name, BoundBuffer buffer, long... shape) {
        bind(true, name, buffer, shape);
    }

    /**
     * Runs the graph over the bound buffers; returns when the outputs are written.
     *
     * @throws IllegalStateException when a bound buffer was closed
     * @throws org.catonnx.runtime.InferenceException when ONNX Runtime fails (e.g. an input is not bound,
     *     or a bound type or shape does not fit the graph)
     */
    public void run() {
        checkOpen();
        requireOpen(inputs, "input");
        requireOpen(outputs, "output");
        BoundNative.run(handle);
    }

    /** Releases the session; harmless when already closed. The bound buffers stay open (they are the caller's). */
    @Override
    public void close() {
        long h = handle;
        if (h == 0) return;
        handle = 0;
        inputs.clear();
        outputs.clear();
        BoundNative.closeSession(h);
    }

    private void bind(boolean output, String name, BoundBuffer buffer, long[] shape) {
        checkOpen();
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(buffer, "buffer");
        List<String> names = output ? outputNames : inputNames;
        String kind = output ? "output" : "input";
        if (!names.contains(name)) {
            throw new IllegalArgumentException("no " + kind + " '" + name + "' in " + label + "; its " + kind + "s: " + names);
        }
        if (buffer.device() != device) {
            throw new IllegalArgumentException("buffer " + buffer + " is not on this session's device ("
                    + (device < 0 ? "host" : "cuda:" + device) + ")");
        }
        long viewBytes = BoundBuffer.byteSize(shape, buffer.type());
        if (viewBytes > buffer.bytes()) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " of " + buffer.type() + " needs " + viewBytes
                    + " bytes; buffer " + buffer + " has " + buffer.bytes());
        }
        BoundNative.bind(handle, output, name, buffer.address(), viewBytes, buffer.type().onnx, shape.clone());
        (output ? outputs : inputs).put(name, buffer);
    }

    private static void requireOpen(Map<String, BoundBuffer> bound, String kind) {
        for (Map.Entry<String, BoundBuffer> e : bound.entrySet()) {
            if (!e.getValue().isOpen()) {
                throw new IllegalStateException("the buffer bound to " + kind + " '" + e.getKey() + "' was closed; bind another");
            }
        }
    }

    private void checkOpen() {
        if (handle == 0) throw new IllegalStateException("session " + label + " is closed");
    }

    @Override
    public String toString() {
        return "BoundSession[" + label + (device < 0 ? ", cpu" : ", cuda:" + device) + (handle == 0 ? ", closed]" : "]");
    }
}
