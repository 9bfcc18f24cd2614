"""Turns compare.sh's JSON lines into the markdown table between the comparison markers of benchmarks/README.md:
per configuration, Java at the API's defaults, the C++ driver at the same setting, PyTorch eager and torch.compile
each at its best setting, and Java's speed-up over the better of the two."""
import json
import os
import platform
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


def cell(r):
    if r is None:
        return "—"
    return "%.1f ms (%.1f–%.1f), %s, %.1f img/s" % (r["median_ms"], r["p25_ms"], r["p75_ms"], setting(r),
                                                    r["images_per_s"])


def fastest(rows):
    return min(rows, key=lambda r: r["median_ms"], default=None)


def main(readme, files):
    rows = [json.loads(l) for f in files for l in open(f) if l.strip().startswith("{")]
    for r in rows:
        if "error" in r:
            raise SystemExit("the Python reference failed its check: %s" % r)
    torch = next((r.get("torch") for r in rows if r.get("torch")), "?")
    jsonl = " ".join(os.path.basename(f) for f in files)
    lines = [START, "",
             "Machine: %s; PyTorch %s (the wheel libmae is built on; Python and libmae load the same LibTorch). "
             "Command: `benchmarks/compare.sh`; raw lines: `benchmarks/results/` %s. Java runs at the API's defaults "
             "(`mae bench` without thread options); the C++ driver at Java's setting; PyTorch eager and "
             "`torch.compile` each at its best of 1..cores intra-op threads, as it comes or with libmae's malloc "
             "settings. Median step time (25th–75th percentile) of the whole batch: forward, backward, AdamW."
             % (machine(), torch, jsonl), "",
             "| config | batch | Java (`mae bench`, defaults) | C++ driver, same setting | PyTorch eager, best "
             "| PyTorch `torch.compile`, best | Python DDP, one process per core | Java vs C++ "
             "| Java speed-up vs the better of eager and compiled |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for cfg in ["fashion-mnist", "vit-tiny16", "vit-base16"]:
        of = lambda *drivers: [r for r in rows if r["config"] == cfg and r["driver"] in drivers]
        j = fastest(of("java"))
        if j is None:
            continue
        c = fastest([r for r in of("c++") if setting(r) == setting(j)])
        eager = fastest(of("python", "python+malloc"))
        compiled = fastest(of("python+compile", "python+malloc+compile"))
        ddp = fastest(of("python-ddp"))
        peer = fastest([r for r in (eager, compiled) if r is not None])
        over = "—" if c is None else "%+.1f%%" % (100 * (j["median_ms"] / c["median_ms"] - 1))
        ratio = "—" if peer is None else "**%.2f×**" % (peer["median_ms"] / j["median_ms"])
        label = lambda r: "" if r is None or r["driver"] in ("python", "python+compile") else " (malloc settings)"
        lines.append("| %s | %d | %s | %s | %s%s | %s%s | %s | %s | %s |" % (
            cfg, j["batch"], cell(j), cell(c), cell(eager), label(eager), cell(compiled), label(compiled),
            cell(ddp), over, ratio))
    lines += ["", END]
    text = open(readme).read()
    if START in text and END in text:
        text = text[:text.index(START)] + "\n".join(lines) + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n## Training step: Java vs C++ vs Python\n\n" + "\n".join(lines) + "\n"
    open(readme, "w").write(text)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
