/**
 * mae4j: Masked Autoencoders for the JVM. Exported: {@code dev.mae4j} (the API), {@code dev.mae4j.data} (datasets and
 * augmentation samplers), {@code dev.mae4j.eval} (probes) and {@code dev.mae4j.serving} (batching for services; its
 * Micrometer adapter needs micrometer.core, an optional dependency); {@code dev.mae4j.io} and the bindings stay
 * internal.
 */
module dev.mae4j {
    requires dev.mae4j.bindings;
    requires com.fasterxml.jackson.databind;
    requires org.apache.commons.rng.sampling;
    requires org.apache.commons.rng.api;
    requires static micrometer.core;

    exports dev.mae4j;
    exports dev.mae4j.data;
    exports dev.mae4j.eval;
    exports dev.mae4j.serving;
}
