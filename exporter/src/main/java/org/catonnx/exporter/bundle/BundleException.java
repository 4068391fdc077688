package org.catonnx.exporter.bundle;

import java.io.IOException;

/**
 * A bundle that is malformed, corrupt, unsafe or of an unknown format. The message names the
 * file (relative to the bundle, or the archive entry) and the problem; {@link #kind()} says
 * which check failed.
 */
public class BundleException extends IOException {
    /** Which check refused the bundle. */
    public enum Kind {
        /** manifest.json missing, not JSON, or a field missing or of the wrong type */
        MANIFEST,
        /** the format version is not one this reader understands */
        FORMAT,
        /** a file the manifest lists is missing */
        MISSING,
        /** a file's size differs from the manifest (e.g. truncated) */
        SIZE,
        /** a file's SHA-256 differs from the manifest */
        CHECKSUM,
        /** a path that is absolute, escapes the bundle, or goes through a symbolic link */
        UNSAFE_PATH,
        /** a file not in the manifest that must not be there (a graph, a symbolic link) */
        UNEXPECTED_FILE,
        /** an archive that is malformed or holds duplicate, special or oversized entries */
        ARCHIVE,
        /** a graph that does not parse or whose external data points elsewhere */
        GRAPH
    }

    private final Kind kind;
    private final String file;

    public BundleException(Kind kind, String file, String problem) {
        this(kind, file, problem, null);
    }

    public BundleException(Kind kind, String file, String problem, Throwable cause) {
        super((file == null ? "" : file + ": ") + problem, cause);
        this.kind = kind;
        this.file = file;
    }

    public Kind kind() { return kind; }

    /** The file the problem is about, relative to the bundle (or the archive entry name); null if none. */
    public String file() { return file; }
}
