"""Merges the JSON lines of run.sh gpu into one report: each step's images/s, TFLOP/s and MFU, and the ratios the
goals are stated in (Java-driven vs the C++ driver, vs PyTorch eager and torch.compile, all bfloat16).

  python gpu_report.py RUN.jsonl   prints the report (JSON); FLOPs per image come from mae bench's line of each
                                   configuration (mae4j's Flops, as PyTorch's FlopCounterMode counts them)
"""
import json
import platform
import sys

# Dense bfloat16 peaks (TFLOP/s) of the cards the GPU machines lend; others report no MFU.
PEAKS = {"H100 80GB HBM3": 989.4, "H100 SXM": 989.4, "H200": 989.4, "H100 PCIe": 756.0, "H100 NVL": 835.0,
         "A100": 312.0}


def device_name():
    try:
        import torch
        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor() or "cpu"
    except Exception:  # noqa: BLE001 - a report without the name beats none
        return "unknown"


def peak_of(name):
    for key, peak in PEAKS.items():
        if key in name:
            return peak
    return None


def main(path):
    rows = [json.loads(line) for line in open(path) if line.startswith("{")]
    name = device_name()
    peak = peak_of(name)
    flops = {r["config"]: r["train_flops_per_image"] for r in rows if "train_flops_per_image" in r}
    for r in rows:
        f = flops.get(r.get("config"))
        if f and "images_per_s" in r:
            r["tflops"] = round(f * r["images_per_s"] / 1e12, 2)
            r["mfu"] = round(r["tflops"] / peak, 4) if peak else None
    ratios = {}
    for config in flops:
        by = {r["driver"]: r["images_per_s"] for r in rows if r.get("config") == config and "images_per_s" in r}
        java = by.get("java")
        if java:
            ratios[config] = {"java_vs_" + d: round(java / v, 3) for d, v in by.items() if d != "java" and v}
    print(json.dumps({"device": name, "peak_bf16_tflops": peak, "results": rows, "ratios": ratios}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
