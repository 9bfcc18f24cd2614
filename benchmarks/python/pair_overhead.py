"""Java's overhead over the C++ driver from pairs.sh's raw lines: one ratio per interleaved pair, their median and
quartiles, a bootstrap 95% interval of the median (what the pairs can resolve), and the JIT work the Java runs saw
while measuring (so an outlier can be told from the JVM's own work).
    python3 pair_overhead.py RESULTS.jsonl...
"""
import json
import random
import sys


def quantile(sorted_values, p):
    """Linear interpolation between the closest ranks."""
    x = (len(sorted_values) - 1) * p
    lo = int(x)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (x - lo)


def median_interval(values, resamples=10000, seed=1):
    """Percentile bootstrap 95% interval of the median: the pairs resampled with replacement, seeded."""
    rng = random.Random(seed)
    medians = sorted(quantile(sorted(rng.choice(values) for _ in values), 0.5) for _ in range(resamples))
    return quantile(medians, 0.025), quantile(medians, 0.975)


def pairs(rows):
    """Consecutive java/c++ lines (either order) of the same config and setting, as (java, c++) pairs."""
    out = []
    for a, b in zip(rows[0::2], rows[1::2]):
        by_driver = {a["driver"]: a, b["driver"]: b}
        if set(by_driver) != {"java", "c++"}:
            raise SystemExit("pair_overhead: lines must alternate between java and c++ pairs, got %s, %s" % (a["driver"], b["driver"]))
        out.append((by_driver["java"], by_driver["c++"]))
    return out


def main(paths):
    rows = [json.loads(line) for p in paths for line in open(p) if line.strip()]
    ps = pairs(rows)
    over = [100 * (j["median_ms"] / c["median_ms"] - 1) for j, c in ps]
    s = sorted(over)
    print("Java over C++ per pair (in run order): " + ", ".join("%+.1f%%" % r for r in over))
    print("pairs %d; median %+.1f%% (quartiles %+.1f%% to %+.1f%%); Java median step %.1f ms, C++ %.1f ms (medians of the runs)"
          % (len(s), quantile(s, 0.5), quantile(s, 0.25), quantile(s, 0.75),
             quantile(sorted(j["median_ms"] for j, _ in ps), 0.5), quantile(sorted(c["median_ms"] for _, c in ps), 0.5)))
    lo, hi = median_interval(over)
    print("bootstrap 95%% interval of the median: %+.1f%% to %+.1f%%" % (lo, hi))
    jit = [j.get("jit_ms_measured") for j, _ in ps if j.get("jit_ms_measured") is not None]
    if jit:
        print("JIT compilation while Java measured: %s ms per run" % ", ".join(str(x) for x in jit))


if __name__ == "__main__":
    main(sys.argv[1:])
