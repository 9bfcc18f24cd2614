"""Java's overhead over the C++ driver from pairs.sh's raw lines: one ratio per interleaved pair, their median and
quartiles, a bootstrap 95% interval of the median (what the pairs can resolve), and the JIT work the Java runs saw
while measuring (so an outlier can be told from the JVM's own work). Triples (pairs.sh with IN_JVM=1) add the C++
loop run inside a JVM process, reported the same way against the C++ driver and against Java. Lines of
`mae bench --alternate-native` (pairs.sh with ALTERNATE=1) hold both sides step by step in one process: their
per-step ratios are reported the same way, pooled over the lines; so are the driver's own A/A lines (pairs.sh with
TWIN=1: the driver's step beside a twin of itself), the control that shows how far two identical steps drift apart,
and lockstep.py's lines (two processes stepping in turns: Java against the Python reference).
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


def groups(rows):
    """Consecutive lines of the same run group (java and c++, maybe c++ in jvm; any order) as dicts by driver."""
    size = len({r["driver"] for r in rows})
    if size not in (2, 3) or len(rows) % size:
        raise SystemExit("pair_overhead: expected whole pairs (java, c++) or triples (+ c++ in jvm), got %d lines of %d drivers"
                         % (len(rows), size))
    out = []
    for k in range(0, len(rows), size):
        by_driver = {r["driver"]: r for r in rows[k:k + size]}
        if len(by_driver) != size or not {"java", "c++"} <= set(by_driver):
            raise SystemExit("pair_overhead: group %d holds %s" % (k // size, [r["driver"] for r in rows[k:k + size]]))
        out.append(by_driver)
    return out


def report(name, over, unit="group"):
    s = sorted(over)
    lo, hi = median_interval(over)
    if len(over) <= 100:
        print("%s per %s (in run order): %s" % (name, unit, ", ".join("%+.1f%%" % r for r in over)))
    print("  median %+.1f%% (quartiles %+.1f%% to %+.1f%%); bootstrap 95%% interval of the median %+.1f%% to %+.1f%%"
          % (quantile(s, 0.5), quantile(s, 0.25), quantile(s, 0.75), lo, hi))


def run_clustered_interval(runs, resamples=10000, seed=1):
    """Bootstrap 95% interval of the pooled median that resamples the runs first, then the step pairs within each:
    wider than median_interval when whole runs lean one way (two models' memory placed differently, say)."""
    rng = random.Random(seed)
    medians = []
    for _ in range(resamples):
        pooled = [rng.choice(run) for run in (rng.choice(runs) for _ in runs) for _ in run]
        medians.append(quantile(sorted(pooled), 0.5))
    medians.sort()
    return quantile(medians, 0.025), quantile(medians, 0.975)


def alternation(rows):
    """One side's step over the other's beside it, step by step, pooled over the runs: the Java step over the C++
    driver's (mae bench --alternate-native), or the driver's twin over the driver (the A/A control, --twin 1)."""
    twin = "twin_ms_in_order" in rows[0]
    if "a_ms_in_order" in rows[0]:  # lockstep.py: two processes in turns, either side named first
        a, b = rows[0]["a"], rows[0]["b"]
        rows = [r if r["a"] == a else dict(r, a_ms_in_order=r["b_ms_in_order"], b_ms_in_order=r["a_ms_in_order"],
                                           a_median_ms=r["b_median_ms"], b_median_ms=r["a_median_ms"]) for r in rows]
        a_ms, b_ms, a_med, b_med = "a_ms_in_order", "b_ms_in_order", "a_median_ms", "b_median_ms"
    elif twin:
        a, b = "twin", "c++"
        a_ms, b_ms, a_med, b_med = "twin_ms_in_order", "ms_in_order", "twin_median_ms", "median_ms"
    else:
        a, b = "java", "c++"
        a_ms, b_ms, a_med, b_med = "java_ms_in_order", "cpp_ms_in_order", "median_ms", "cpp_median_ms"
    runs = [[100 * (x / y - 1) for x, y in zip(r[a_ms], r[b_ms])] for r in rows]
    over = [x for run in runs for x in run]
    print("runs %d, %d step pairs; median step (medians of the runs): %s %.1f ms, %s %.1f ms" % (
        len(rows), len(over), a, quantile(sorted(r[a_med] for r in rows), 0.5),
        b, quantile(sorted(r[b_med] for r in rows), 0.5)))
    report("%s step over the %s step beside it" % (a, b), over, "step pair")
    if "a_ms_in_order" in rows[0]:
        print("  i.e. %s's speed-up over %s: %.2f× (median)" % (a, b, 1 / (1 + quantile(sorted(over), 0.5) / 100)))
    print("  per run (median of its step pairs): %s" % ", ".join(
        "%+.1f%%" % quantile(sorted(run), 0.5) for run in runs))
    if len(runs) > 1:
        print("  95%% interval of the median with the runs resampled too: %+.1f%% to %+.1f%%" % run_clustered_interval(runs))
    if a == "java" and b == "c++":
        print("JIT compilation while measuring: %s ms per run" % ", ".join(str(r.get("jit_ms_measured")) for r in rows))


def main(paths):
    rows = [json.loads(line) for p in paths for line in open(p) if line.strip()]
    if rows and any(all(k in r for r in rows) for k in ("cpp_ms_in_order", "twin_ms_in_order", "a_ms_in_order")):
        return alternation(rows)
    gs = groups(rows)
    ratio = lambda a, b: [100 * (g[a]["median_ms"] / g[b]["median_ms"] - 1) for g in gs]
    print("groups %d; median step (medians of the runs): %s" % (len(gs), ", ".join(
        "%s %.1f ms" % (d, quantile(sorted(g[d]["median_ms"] for g in gs), 0.5)) for d in gs[0])))
    report("Java over C++", ratio("java", "c++"))
    if "c++ in jvm" in gs[0]:
        report("C++ in a JVM process over C++", ratio("c++ in jvm", "c++"))
        report("Java over C++ in a JVM process", ratio("java", "c++ in jvm"))
    jit = [g["java"].get("jit_ms_measured") for g in gs if g["java"].get("jit_ms_measured") is not None]
    if jit:
        print("JIT compilation while Java measured: %s ms per run" % ", ".join(str(x) for x in jit))


if __name__ == "__main__":
    main(sys.argv[1:])
