package org.catonnx.runtime;

import java.util.Locale;

/** Where a model runs. AUTO picks CUDA when this ONNX Runtime build and machine can use it, else CPU. */
public enum Device {
    CPU, CUDA, AUTO;

    public static Device parse(String s) {
        switch (s == null ? "" : s.trim().toLowerCase(Locale.ROOT)) {
            case "cpu": return CPU;
            case "cuda": case "gpu": return CUDA;
            case "auto": return AUTO;
            default: throw new IllegalArgumentException("unknown device '" + s + "' (allowed: cpu, cuda, auto)");
        }
    }
}
