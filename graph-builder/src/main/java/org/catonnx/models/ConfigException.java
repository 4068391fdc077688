package org.catonnx.models;

/** A model configuration is inconsistent or incomplete; the message says which field and why. */
public class ConfigException extends IllegalArgumentException {
    public ConfigException(String message) {
        super(message);
    }
}
