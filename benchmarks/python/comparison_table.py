"""Turns compare.sh's JSON lines into the markdown table between the comparison markers of benchmarks/README.md:
per configuration, each side at its best setting, Java's overhead over the C++ driver at that same setting and its
speed-up over the Python reference (single process, and DDP over the cores)."""
import json
import os
import platform
import subprocess
import sys

START, END = "<!-- comparison:start -->", "<!-- comparison:end -->"


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return "%s, %d cores, %s" % (cpu, os.cpu_count(), platform.platform())


def setting(r):
    """How a row used the cores: intra-op threads, step threads (libmae) or DDP processes (Python)."""
    if r.get("ranks", 1) > 1:
        return "%d proc × %d thr" % (r["ranks"], r["threads"])
    if r.get("step_threads", 1) > 1:
        return "%d thr × %d step thr" % (r["threads"], r["step_threads"])
    return "%d thr" % r["threads"]


def main(readme, files):
    rows = [json.loads(l) for f in files for l in open(f) if l.strip().startswith("{")]
    jsonl = " ".join(os.path.basename(f) for f in files)
    best = {}
    for r in rows:
        if "error" in r:
            raise SystemExit("the Python reference failed its check: %s" % r)
        key = (r["config"], r["driver"])
        if key not in best or r["median_ms"] < best[key]["median_ms"]:
            best[key] = r
    torch = next((r.get("torch") for r in rows if r.get("torch")), "?")
    lines = [START, "",
             "Machine: %s; libtorch %s (Python and libmae link the same one). Command: `benchmarks/compare.sh`; "
             "raw lines: `benchmarks/results/` %s. Each side at its best setting: 1 or 2 intra-op threads, and for "
             "libmae also one step thread per core, for Python one DDP process per core (its own column); median step "
             "time (25th–75th percentile) of the whole batch." % (machine(), torch, jsonl), "",
             "| config | batch | C++ driver | Java (`mae bench`) | Python reference | Python, libmae's malloc settings "
             "| Python DDP, one process per core | Java overhead vs C++ (same setting) "
             "| Java speed-up vs the faster single-process Python | Java vs Python DDP |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for cfg in ["fashion", "tiny224", "vitb16"]:
        if (cfg, "java") not in best:
            continue
        j = best[(cfg, "java")]
        c, p0, pm, pd = (best.get((cfg, d)) for d in ("c++", "python", "python+malloc", "python-ddp"))
        p = min((r for r in (p0, pm) if r is not None), key=lambda r: r["median_ms"], default=None)
        cell = lambda r: "—" if r is None else "%.1f ms (%.1f–%.1f), %s, %.1f img/s" % (
            r["median_ms"], r["p25_ms"], r["p75_ms"], setting(r), r["images_per_s"])
        same = [r for r in rows if r["config"] == cfg and r["driver"] == "c++" and setting(r) == setting(j)]
        twin = min(same, key=lambda r: r["median_ms"], default=None)
        over = "—" if twin is None else "%+.1f%%" % (100 * (j["median_ms"] / twin["median_ms"] - 1))
        ratio = lambda r: "—" if r is None else "%.2f×" % (r["median_ms"] / j["median_ms"])
        lines.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            cfg, j["batch"], cell(c), cell(j), cell(p0), cell(pm), cell(pd), over, ratio(p), ratio(pd)))
    lines += ["", END]
    text = open(readme).read()
    if START in text and END in text:
        text = text[:text.index(START)] + "\n".join(lines) + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n## Training step: Java vs C++ vs Python\n\n" + "\n".join(lines) + "\n"
    open(readme, "w").write(text)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
