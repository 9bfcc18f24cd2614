package dev.mae4j.cli;

import dev.mae4j.Preprocessing;
import picocli.CommandLine.Option;

/**
 * --image-mean / --image-std: the per-channel normalisation, overriding what the weights record (or, where
 * nothing is recorded, the default for the channel count, which a one-line notice on stderr then names).
 */
final class PreprocessingOptions {
    @Option(
            names = "--image-mean",
            split = ",",
            paramLabel = "M",
            description = "Per-channel mean on [0, 1] "
                    + "(comma-separated), overriding what the weights record; with --image-std.")
    float[] mean;

    @Option(
            names = "--image-std",
            split = ",",
            paramLabel = "S",
            description = "Per-channel standard deviation, " + "overriding what the weights record; with --image-mean.")
    float[] std;

    /** The options' normalisation, or null when neither is given. */
    Preprocessing given() {
        if (mean == null && std == null) return null;
        if (mean == null || std == null) throw new IllegalArgumentException("--image-mean and --image-std go together");
        return Preprocessing.of(mean, std);
    }

    /**
     * What to normalise with for weights at {@code source} that carry {@code recorded}: the options when given,
     * else {@code recorded}, with the notice on {@code err} when the file recorded none.
     */
    Preprocessing resolve(Preprocessing recorded, Object source, java.io.PrintWriter err) {
        Preprocessing p = given();
        if (p != null) {
            if (p.channels() != recorded.channels())
                throw new IllegalArgumentException("--image-mean/--image-std give " + p.channels()
                        + " values, the model has " + recorded.channels() + " channels");
            return p;
        }
        if (!recorded.recorded()) {
            err.println("notice: " + recorded.notice(source));
            err.flush();
        }
        return recorded;
    }
}
