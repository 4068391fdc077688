package org.catonnx.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The native CatAttention operator (op "CatAttention", domain "org.catonnx", issue 8) as
 * custom-op libraries for {@link SessionConfig#withCustomOpLibrary(Path)}.
 *
 * <ul>
 *   <li>{@link #cpuLibrary()}: {@code libcatonnx_ops_cpu.so}, the CPU kernel only (built with g++);</li>
 *   <li>{@link #cudaLibrary()}: {@code libcatonnx_ops_cuda.so}, the CUDA kernel (CUDAExecutionProvider)
 *       plus the same CPU kernel, in one domain; built when nvcc was present.</li>
 * </ul>
 * Register one of the two per session, never both (they declare the same domain): use
 * {@link #libraryFor(Device)}. The libraries ship in the runtime jar under
 * {@code /native/linux-x86_64/} and are extracted to a temporary directory once per JVM; the
 * system property {@value #DIR_PROPERTY} names a directory to load them from instead.
 */
public final class CustomOps {
    public static final String DOMAIN = "org.catonnx";
    public static final String OP = "CatAttention";
    public static final String CPU_LIBRARY = "libcatonnx_ops_cpu.so";
    public static final String CUDA_LIBRARY = "libcatonnx_ops_cuda.so";
    /** A directory holding the libraries; overrides the copies inside the jar. */
    public static final String DIR_PROPERTY = "catonnx.native.dir";

    private static final Map<String, Optional<Path>> EXTRACTED = new HashMap<>();
    private static Path tempDir;

    private CustomOps() {}

    /** The platform folder inside the jar, e.g. {@code linux-x86_64}; empty where no library is built. */
    public static Optional<String> platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (os.startsWith("linux") && (arch.equals("amd64") || arch.equals("x86_64"))) return Optional.of("linux-x86_64");
        return Optional.empty();
    }

    /** Whether the CPU library is available (built for this platform). */
    public static boolean cpuAvailable() {
        return find(CPU_LIBRARY).isPresent();
    }

    /**
     * The CPU library.
     *
     * @throws IllegalStateException when it was not built for this platform
     */
    public static Path cpuLibrary() {
        return find(CPU_LIBRARY).orElseThrow(() -> new IllegalStateException(notBuilt(CPU_LIBRARY,
                "it is built by runtime/src/main/native/build.sh (run by Maven on Linux x86-64 with g++)")));
    }

    /** The CUDA library (also holds the CPU kernel); empty when it was not built (no nvcc at build time). */
    public static Optional<Path> cudaLibrary() {
        return find(CUDA_LIBRARY);
    }

    /**
     * The one library to register for sessions on {@code device}: the CUDA library for CUDA (and for
     * AUTO when it exists), else the CPU library.
     *
     * @throws IllegalStateException when the needed library was not built
     */
    public static Path libraryFor(Device device) {
        if (device == Device.CUDA) {
            return cudaLibrary().orElseThrow(() -> new IllegalStateException(notBuilt(CUDA_LIBRARY,
                    "it is built by runtime/src/main/native/build.sh when nvcc is found")));
        }
        if (device == Device.AUTO) {
            Optional<Path> cuda = cudaLibrary();
            if (cuda.isPresent()) return cuda.get();
        }
        return cpuLibrary();
    }

    /** {@code config} with the library appended when graphs use the custom op (attention form CUSTOM). */
    public static SessionConfig registerIfNeeded(SessionConfig config, boolean graphsUseCustomOps) {
        return graphsUseCustomOps && config.customOpLibraries().isEmpty() ? register(config) : config;
    }

    /** {@code config} with the library for its device appended. */
    public static SessionConfig register(SessionConfig config) {
        return config.withCustomOpLibrary(libraryFor(config.device()));
    }

    private static String notBuilt(String lib, String how) {
        return "CatAttention custom-op library " + lib + " is not available for " + System.getProperty("os.name") + " "
                + System.getProperty("os.arch") + " (looked in -D" + DIR_PROPERTY + " and the runtime jar under /native/"
                + platform().orElse("<unsupported platform>") + "/): " + how;
    }

    private static synchronized Optional<Path> find(String lib) {
        Optional<Path> known = EXTRACTED.get(lib);
        if (known != null) return known;
        Optional<Path> found = locate(lib);
        EXTRACTED.put(lib, found);
        return found;
    }

    private static Optional<Path> locate(String lib) {
        String dir = System.getProperty(DIR_PROPERTY);
        if (dir != null && !dir.isBlank()) {
            Path p = Path.of(dir).resolve(lib);
            return Files.isRegularFile(p) ? Optional.of(p.toAbsolutePath()) : Optional.empty();
        }
        Optional<String> platform = platform();
        if (platform.isEmpty()) return Optional.empty();
        String resource = "/native/" + platform.get() + "/" + lib;
        try (InputStream in = CustomOps.class.getResourceAsStream(resource)) {
            if (in == null) return Optional.empty();
            if (tempDir == null) {
                tempDir = Files.createTempDirectory("catonnx-native-");
                Path d = tempDir;
                Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteQuietly(d), "catonnx-native-cleanup"));
            }
            Path out = tempDir.resolve(lib);
            Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
            return Optional.of(out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract " + resource + " to a temporary file", e);
        }
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort at JVM exit
        }
    }
}
