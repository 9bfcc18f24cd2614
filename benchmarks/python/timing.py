"""The timing loop the product and attention benchmarks share."""
import time


def best_seconds(f, runs=3, min_seconds=0.3, warmups=2):
    """Seconds per call of f: `warmups` untimed calls, then `runs` runs each calling f for at least min_seconds; the
    best run's mean."""
    for _ in range(warmups):
        f()
    best = float("inf")
    for _ in range(runs):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < min_seconds:
            f()
            n += 1
        best = min(best, (time.perf_counter() - t0) / n)
    return best
