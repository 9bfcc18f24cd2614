/**
 * mae4j: Masked Autoencoders for the JVM. Exported: {@code dev.mae4j} (the API), {@code dev.mae4j.data} (datasets and
 * augmentation samplers) and {@code dev.mae4j.eval} (probes); {@code dev.mae4j.io} and the bindings stay internal.
 */
module dev.mae4j {
    requires dev.mae4j.bindings;
    requires com.fasterxml.jackson.databind;
    requires org.apache.commons.rng.sampling;
    requires org.apache.commons.rng.api;

    exports dev.mae4j;
    exports dev.mae4j.data;
    exports dev.mae4j.eval;
}
