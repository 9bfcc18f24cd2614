"""The matrix products of the models' linear layers, each kernel the bundled LibTorch carries, in GFLOP/s and as a
share of the CPU's measured peak (benchmarks/native/peak/peak_probe.c): ATen's addmm (MKL's sgemm), oneDNN's inner
product (mkldnn::_linear_pointwise, what libmae's product dispatch picks where faster) in float32, and oneDNN in
bfloat16. Forward products x·Wᵀ at ViT-B/16's shapes (batch 8 at the MAE's 25% of tokens = 400 rows, and 1576 rows
for all 197 tokens) and vit-tiny16's, and the two backward products (input and weight gradients) of the widest
layer. One JSON line per shape and thread count; the best of three timings of at least 0.4 s each."""
import argparse
import json

import torch

from timing import best_seconds

SHAPES = [  # (rows, in, out, what)
    (400, 768, 2304, "vit-base16 qkv, MAE batch 8"),
    (400, 768, 3072, "vit-base16 fc1, MAE batch 8"),
    (400, 3072, 768, "vit-base16 fc2, MAE batch 8"),
    (1576, 768, 2304, "vit-base16 qkv, encoder batch 8"),
    (1576, 3072, 768, "vit-base16 fc2, encoder batch 8"),
    (1576, 192, 576, "vit-tiny16 qkv, encoder batch 8"),
    (1576, 192, 768, "vit-tiny16 fc1, encoder batch 8"),
    (1576, 512, 2048, "decoder fc1 (512 wide), batch 8"),
]


def gflops(f, flops):
    return flops / best_seconds(f, runs=3, min_seconds=0.4, warmups=1) / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--peak-fp32", type=float, help="peak_probe's fp32 GFLOP/s on one thread")
    ap.add_argument("--peak-bf16", type=float, help="peak_probe's bf16 GFLOP/s on one thread")
    a = ap.parse_args()
    lp = torch.ops.mkldnn._linear_pointwise
    for threads in a.threads:
        torch.set_num_threads(threads)
        for m, k, n, what in SHAPES:
            x, w, b = torch.randn(m, k), torch.randn(n, k) / k ** 0.5, torch.randn(n)
            gy = torch.randn(m, n)
            xb, wb, bb = x.bfloat16(), w.bfloat16(), b.bfloat16()
            fl = 2 * m * k * n
            r = {
                "mkl_addmm": gflops(lambda: torch.addmm(b, x, w.t()), fl),
                "onednn_f32": gflops(lambda: lp(x, w, b, "none", [], None), fl),
                "onednn_bf16": gflops(lambda: lp(xb, wb, bb, "none", [], None), fl),
                "grad_input_mkl": gflops(lambda: gy.mm(w), fl),
                "grad_input_onednn": gflops(lambda: lp(gy, w.t(), None, "none", [], None), fl),
                "grad_weight_mkl": gflops(lambda: gy.t().mm(x), fl),
                "grad_weight_onednn": gflops(lambda: lp(gy.t(), x.t(), None, "none", [], None), fl),
            }
            line = {"threads": threads, "rows": m, "in": k, "out": n, "layer": what}
            line.update({key: round(v, 1) for key, v in r.items()})
            if a.peak_fp32:
                best = max(v for key, v in r.items() if key != "onednn_bf16")
                line["best_fp32_share_of_peak"] = round(best / (a.peak_fp32 * threads), 3)
            if a.peak_bf16:
                line["bf16_share_of_peak"] = round(r["onednn_bf16"] / (a.peak_bf16 * threads), 3)
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
