package dev.mae4j.cli;

import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/** What a resumed run must share with the run that wrote its checkpoint, and the check that it does. */
final class RunKey {
    private RunKey() {}

    /** Refuses to resume when {@code progress} (the checkpoint's) differs from {@code runKey} (this run's) anywhere. */
    static void requireSame(CommandSpec spec, Map<String, String> runKey, Map<String, String> progress) {
        for (var e : runKey.entrySet())
            if (!e.getValue().equals(progress.get(e.getKey())))
                throw new ParameterException(
                        spec.commandLine(),
                        "the checkpoint was written with " + e.getKey() + " = " + progress.get(e.getKey())
                                + "; resume with the same value, not " + e.getValue());
    }
}
