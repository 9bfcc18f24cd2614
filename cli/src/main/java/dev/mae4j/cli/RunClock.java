package dev.mae4j.cli;

import java.util.Map;

/**
 * The wall time of a run that may span several processes (--resume): each checkpoint carries the seconds so far
 * under {@link #KEY}, and a resumed process counts on from there. The work an interrupted process did after its
 * last checkpoint is done again, so it is not counted.
 */
final class RunClock {
    static final String KEY = "elapsed_s";

    private final long started = System.nanoTime();
    private double earlier;

    /** Counts on from the seconds a checkpoint's progress holds (none in checkpoints written before this clock). */
    void resumeFrom(Map<String, String> progress) {
        String s = progress.get(KEY);
        if (s == null) {
            System.out.println(
                    "the checkpoint does not say how long its run took: duration_s counts this process only");
            return;
        }
        try {
            earlier = Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("the checkpoint's " + KEY + " is not a number: " + s);
        }
    }

    /** Seconds of this run: the earlier processes' up to their last checkpoint, and this one's. */
    double seconds() {
        return earlier + (System.nanoTime() - started) / 1e9;
    }

    /** {@code progress} with this clock's reading added, for a checkpoint. */
    Map<String, String> stamp(Map<String, String> progress) {
        Map<String, String> stamped = new java.util.LinkedHashMap<>(progress);
        stamped.put(KEY, Double.toString(seconds()));
        return stamped;
    }
}
