/** mae4j: Masked Autoencoders for the JVM. Only {@code dev.mae4j} is public; the bindings stay internal. */
module dev.mae4j {
    requires dev.mae4j.bindings;
    requires com.fasterxml.jackson.databind;
    requires org.apache.commons.rng.sampling;
    requires org.apache.commons.rng.api;

    exports dev.mae4j;
    exports dev.mae4j.data;
    exports dev.mae4j.eval;
}
