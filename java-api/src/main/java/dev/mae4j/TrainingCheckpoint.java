package dev.mae4j;

import dev.mae4j.io.SafeTensors;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The file layout {@link Trainer} and {@link FineTuner} checkpoints share: one safetensors file holding the
 * weights under "model.", the optimiser's state under "optimizer.", generator states as U8 tensors, and the update
 * count, the configuration and the caller's progress in the metadata; written atomically (SafeTensors.write: a
 * temporary file, flushed, then renamed).
 */
final class TrainingCheckpoint {
    private static final String MODEL_PREFIX = "model.", OPTIMIZER_PREFIX = "optimizer.";
    private static final String UPDATES_KEY = "updates", PROGRESS_PREFIX = "progress.";

    private TrainingCheckpoint() {}

    /** What a checkpoint restores besides the tensors: the caller's progress and the normalisation (null if none). */
    record Contents(Map<String, String> progress, Preprocessing preprocessing) {}

    // AdamW's applied-update count: set after the update count, which resets it to the update count
    private static final String APPLIED = OPTIMIZER_PREFIX + "step";

    /** The weights and optimiser state of a trainer, by name: what a checkpoint reads and writes. */
    record Trainable(
            List<ParameterInfo> parameters,
            Function<String, Tensor> parameter,
            BiConsumer<String, Tensor> setParameter,
            List<String> optimizerStateNames,
            Function<String, Tensor> optimizerState,
            BiConsumer<String, Tensor> setOptimizerState,
            java.util.function.LongConsumer setStepCount) {}

    /**
     * Writes {@code t}'s weights and optimiser state, every rank's generator state ({@code states[r]}, rank 0 under
     * {@code stateName} itself, so files of one and of many ranks load in either) and the metadata.
     */
    static void save(
            Path file,
            String format,
            MaeConfig config,
            Preprocessing preprocessing,
            long updates,
            Map<String, String> progress,
            Trainable t,
            String stateName,
            byte[][] states)
            throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        try {
            for (ParameterInfo p : t.parameters())
                tensors.put(MODEL_PREFIX + p.name(), t.parameter().apply(p.name()));
            for (String name : t.optimizerStateNames())
                tensors.put(OPTIMIZER_PREFIX + name, t.optimizerState().apply(name));
            for (int r = 0; r < states.length; r++)
                tensors.put(rankName(stateName, r), GeneratorStates.tensorOf(states[r]));
        } catch (RuntimeException e) {
            tensors.values().forEach(Tensor::close);
            throw e;
        }
        Map<String, String> model = new LinkedHashMap<>(config.toMetadata());
        model.putAll(preprocessing.toMetadata());
        write(file, format, model, updates, progress, tensors);
    }

    /**
     * Restores a checkpoint of {@link #save} into {@code t} (its update count too), and {@code rank}'s generator state into
     * {@code restoreState}; warns when the file has none for this rank (it was written by fewer ranks).
     */
    static Contents load(
            Path file,
            String format,
            String kind,
            Trainable t,
            String stateName,
            int rank,
            Consumer<byte[]> restoreState)
            throws IOException {
        Set<String> expected = new HashSet<>();
        for (ParameterInfo p : t.parameters()) expected.add(MODEL_PREFIX + p.name());
        for (String name : t.optimizerStateNames()) expected.add(OPTIMIZER_PREFIX + name);
        expected.add(stateName);
        String mine = rankName(stateName, rank);
        boolean[] found = {false};
        double[] applied = {Double.NaN};
        Read contents = read(file, format, kind, expected, name -> name.startsWith(stateName + ".rank"), (name, v) -> {
            if (name.equals(APPLIED)) {
                double d = v.toDoubleArray()[0];
                if (!(d >= 0 && d == Math.floor(d)))
                    throw new IllegalArgumentException("optimizer.step is not a count: " + d);
                applied[0] = d;
            } else if (name.startsWith(stateName)) {
                if (name.equals(mine)) {
                    restoreState.accept(v.segment().toArray(ValueLayout.JAVA_BYTE));
                    found[0] = true;
                }
            } else if (name.startsWith(MODEL_PREFIX)) t.setParameter().accept(name.substring(MODEL_PREFIX.length()), v);
            else t.setOptimizerState().accept(name.substring(OPTIMIZER_PREFIX.length()), v);
        });
        if (!found[0])
            System.getLogger(TrainingCheckpoint.class.getName())
                    .log(
                            System.Logger.Level.WARNING,
                            file + " has no " + stateName + " for rank " + rank
                                    + " (it was written by fewer ranks): this rank's draws continue from its own seed");
        t.setStepCount().accept(contents.updates());
        try (Tensor count = Tensor.fromDoubles(new double[] {applied[0]}, 1)) {
            t.setOptimizerState().accept("step", count);
        }
        return new Contents(contents.progress(), contents.preprocessing());
    }

    private static String rankName(String stateName, int rank) {
        return rank == 0 ? stateName : stateName + ".rank" + rank;
    }

    /** Writes {@code tensors} (closing them, written or not) and the metadata as a checkpoint of {@code format}. */
    private static void write(
            Path file,
            String format,
            Map<String, String> model,
            long updates,
            Map<String, String> progress,
            Map<String, Tensor> tensors)
            throws IOException {
        try {
            List<SafeTensors.Source> sources = new ArrayList<>();
            tensors.forEach((name, t) -> sources.add(WeightsReader.source(name, t)));
            Map<String, String> metadata = new LinkedHashMap<>();
            metadata.put("format", format);
            metadata.putAll(model);
            metadata.put(UPDATES_KEY, Long.toString(updates));
            progress.forEach((k, v) -> metadata.put(PROGRESS_PREFIX + k, v));
            SafeTensors.write(file, metadata, sources);
        } finally {
            tensors.values().forEach(Tensor::close);
        }
    }

    // What read() finds besides the tensors.
    private record Read(long updates, Map<String, String> progress, Preprocessing preprocessing) {}

    /**
     * Reads a checkpoint of {@code format} ({@code kind} names it in errors, e.g. "training") whose tensors are exactly {@code expected} (besides those {@code extra}
     * accepts), handing each to {@code restore} (the tensor is valid during the call only).
     */
    private static Read read(
            Path file,
            String format,
            String kind,
            Set<String> expected,
            Predicate<String> extra,
            BiConsumer<String, Tensor> restore)
            throws IOException {
        try (SafeTensors st = WeightsReader.open(file)) {
            Map<String, String> meta = st.metadata();
            if (!format.equals(meta.get("format")))
                throw new CheckpointException(
                        file, "is not a " + kind + " checkpoint (format " + meta.get("format") + ")");
            Set<String> found = new TreeSet<>(st.entries().keySet());
            found.removeIf(extra);
            if (!new TreeSet<>(expected).equals(found))
                throw new CheckpointException(file, "its tensors do not match this model and optimiser");
            long updates;
            try {
                updates = Long.parseLong(meta.getOrDefault(UPDATES_KEY, ""));
            } catch (NumberFormatException e) {
                throw new CheckpointException(file, "metadata " + UPDATES_KEY + " is missing or not a number");
            }
            for (SafeTensors.Entry e : st.entries().values()) {
                DType dtype = DType.ofSafetensorsName(e.dtype());
                if (dtype == null || e.shape().length == 0)
                    throw new CheckpointException(
                            file, "tensor '" + e.name() + "' is a " + e.dtype() + " scalar or of an unknown type");
                try (Tensor t = WeightsReader.inPlaceOrCopied(e.data(), dtype, e.shape())) {
                    restore.accept(e.name(), t);
                } catch (IllegalArgumentException bad) {
                    throw new CheckpointException(file, bad.getMessage());
                }
            }
            Map<String, String> progress = new LinkedHashMap<>();
            meta.forEach((k, v) -> {
                if (k.startsWith(PROGRESS_PREFIX)) progress.put(k.substring(PROGRESS_PREFIX.length()), v);
            });
            Preprocessing preprocessing = Preprocessing.recordedIn(file, meta);
            return new Read(updates, progress, preprocessing);
        }
    }
}
