package dev.mae4j;

/** The learning rate of each optimiser update, by its index (0 for the first update). */
@FunctionalInterface
public interface LrSchedule {
    double lr(long update);

    static LrSchedule constant(double lr) {
        return update -> lr;
    }

    /**
     * The reference's schedule (util/lr_sched.py), per update: linear warm-up from 0 over
     * {@code warmupUpdates}, then a half-cycle cosine from {@code peak} down to {@code min} at {@code totalUpdates}.
     */
    static LrSchedule warmupCosine(double peak, double min, long warmupUpdates, long totalUpdates) {
        if (!(peak >= 0) || !(min >= 0) || min > peak)
            throw new IllegalArgumentException("need 0 <= min <= peak, got min " + min + ", peak " + peak);
        if (warmupUpdates < 0 || totalUpdates <= warmupUpdates)
            throw new IllegalArgumentException(
                    "need 0 <= warmupUpdates < totalUpdates, got " + warmupUpdates + " and " + totalUpdates);
        return update -> {
            if (update < warmupUpdates) return peak * update / warmupUpdates;
            double progress = Math.min(1.0, (double) (update - warmupUpdates) / (totalUpdates - warmupUpdates));
            return min + (peak - min) * 0.5 * (1 + Math.cos(Math.PI * progress));
        };
    }

    /** The paper's scaling rule: lr = base_lr · effective batch / 256. */
    static double scaledLr(double baseLr, long effectiveBatch) {
        return baseLr * effectiveBatch / 256.0;
    }
}
