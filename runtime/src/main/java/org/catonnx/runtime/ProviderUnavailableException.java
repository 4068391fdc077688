package org.catonnx.runtime;

/** An execution provider was requested explicitly but cannot be used here. */
public class ProviderUnavailableException extends RuntimeException {
    public ProviderUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
