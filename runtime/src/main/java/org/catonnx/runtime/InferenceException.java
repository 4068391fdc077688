package org.catonnx.runtime;

/** ONNX Runtime failed to load a model, build a tensor or run a session; the cause is the OrtException. */
public class InferenceException extends RuntimeException {
    public InferenceException(String message, Throwable cause) {
        super(message, cause);
    }
}
