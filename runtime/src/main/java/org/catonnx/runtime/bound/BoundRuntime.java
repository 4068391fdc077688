package org.catonnx.runtime.bound;

import java.nio.file.Path;
import org.catonnx.onnx.DType;
import org.catonnx.runtime.Device;
import org.catonnx.runtime.OrtRuntime;
import org.catonnx.runtime.ProviderUnavailableException;

/**
 * Where bound sessions run and their buffers live: the CPU provider with host memory, or one CUDA
 * device with device memory. Buffers of one runtime bind only to sessions of the same device.
 *
 * <p>Bound sessions exist because ONNX Runtime's Java API copies every input and output through
 * host memory and cannot use CUDA graphs: here inputs and outputs are bound (IoBinding) to
 * {@link BoundBuffer}s that stay where they are between runs, and an output may be bound to the
 * buffer of an input so that a cache is updated in place. The native layer is the JNI part of the
 * custom-op libraries ({@link org.catonnx.runtime.CustomOps}); see {@link BoundNative} for which
 * one a JVM loads.
 *
 * <p>Holds no native resources itself; close buffers and sessions.
 */
public final class BoundRuntime {
    private final int device;  // CUDA ordinal; -1: host memory and the CPU provider

    private BoundRuntime(int device) {
        this.device = device;
    }

    /**
     * Host buffers and the CPU provider.
     *
     * @throws ProviderUnavailableException when the native library was not built for this platform
     */
    public static BoundRuntime cpu() {
        BoundNative.load(false);
        return new BoundRuntime(-1);
    }

    /**
     * Device buffers and the CUDA provider on device {@code deviceId}.
     *
     * <p>Loading the CUDA library sets {@code CUBLAS_WORKSPACE_CONFIG=:16:1} for this process unless it is
     * set already: cuBLAS would otherwise hold a workspace per session outside every allocator (160 MiB
     * for CAT's two generation sessions on an H200), which batch-sized decode GEMMs do not need.
     *
     * @throws ProviderUnavailableException when ONNX Runtime has no CUDA provider, the CUDA library was
     *     not built, this JVM already loaded the CPU library, or there is no such GPU
     */
    public static BoundRuntime cuda(int deviceId) {
        if (deviceId < 0) throw new IllegalArgumentException("deviceId must be >= 0, got " + deviceId);
        if (!OrtRuntime.cudaAvailable()) {
            throw new ProviderUnavailableException("bound CUDA sessions need ONNX Runtime's CUDA provider, which this build "
                    + "cannot use (the onnxruntime_gpu artifact, Maven profile gpu, and the CUDA 12 libraries)", null);
        }
        BoundNative.load(true);
        int count = BoundNative.cudaDeviceCount();
        if (deviceId >= count) {
            throw new ProviderUnavailableException("no CUDA device " + deviceId + " (" + count + " visible)", null);
        }
        return new BoundRuntime(deviceId);
    }

    /**
     * The native library this JVM loaded for bound sessions. It also holds the CatAttention and
     * CatDecodeAttention operators: pass it to {@link BoundSession.Options#withCustomOpLibrary}
     * for graphs that use them.
     */
    public Path customOpLibrary() {
        return BoundNative.library();
    }

    /**
     * Bytes of this runtime's GPU in use right now, by every process (the CUDA context included);
     * -1 on the CPU. For attributing memory to stages, e.g. sessions opened vs graphs captured.
     */
    public long deviceMemoryUsed() {
        return device < 0 ? -1 : BoundNative.deviceMemoryUsed(device);
    }

    /**
     * Device memory the CUDA runtime's allocations hold, as PyTorch's allocator counts it: what
     * ONNX Runtime's sessions opened with {@link BoundSession.Options#devicePool} and this runtime's
     * buffers were handed out (now and at peak) and what the pool holds from the driver. The CUDA
     * context, loaded kernels and library handles are outside it. Null on the CPU.
     *
     * @param resetPeak restart the peak from what is allocated now, after reading it
     */
    public PoolStats poolStats(boolean resetPeak) {
        if (device < 0) return null;
        long[] v = BoundNative.poolStats(device, resetPeak);
        return new PoolStats(v[0], v[1], v[2]);
    }

    /** Bytes counted by the device pool: handed out now, handed out at peak, held from the driver. */
    public record PoolStats(long allocated, long peakAllocated, long reserved) {}

    /** Whether {@link #cpu()} can be used here (false where the native library was not built). */
    public static boolean cpuAvailable() {
        try {
            cpu();
            return true;
        } catch (ProviderUnavailableException e) {
            return false;
        }
    }

    /** Whether {@link #cuda(int)} can be used here. */
    public static boolean cudaAvailable(int deviceId) {
        try {
            cuda(deviceId);
            return true;
        } catch (ProviderUnavailableException e) {
            return false;
        }
    }

    /** {@link Device#CPU} or {@link Device#CUDA}. */
    public Device device() {
        return device < 0 ? Device.CPU : Device.CUDA;
    }

    /** The CUDA device ordinal; -1 for the CPU runtime. */
    public int cudaDeviceId() {
        return device;
    }

    /** A zero-filled buffer for a tensor of this type and shape. */
    public BoundBuffer allocate(DType type, long... shape) {
        return new BoundBuffer(device, type, shape);
    }

    /**
     * Opens a model file (external data beside it is found by ONNX Runtime) with graph optimization
     * level ALL.
     *
     * @throws IllegalArgumentException when the model or a custom-op library is not a file, or
     *     CUDA-graph capture is asked of the CPU runtime
     * @throws org.catonnx.runtime.InferenceException when ONNX Runtime cannot create the session
     */
    public BoundSession open(Path model, BoundSession.Options options) {
        return new BoundSession(device, model, options);
    }

    @Override
    public String toString() {
        return device < 0 ? "BoundRuntime[cpu]" : "BoundRuntime[cuda:" + device + "]";
    }
}
