"""The inference encoder's products as oneDNN runs them, each in microseconds: on the weight as stored and on a copy
reordered once into oneDNN's layout (mkldnn::_reorder_linear_weight, what libmae's packed_weight makes), and for the
residual branches (attention projection, fc2) oneDNN's fused "add" (_linear_pointwise.binary) against the product
followed by an in-place addition. Shapes of vit-tiny16 and ViT-B/16 at batch 1 (197 rows) and one cache-sized piece
of 8 images (1576 rows), float32 and bfloat16. One JSON line per shape; the best of five timings of at least 0.3 s.
    python benchmarks/python/encoder_products.py [--threads N]"""
import argparse
import json

import torch

from timing import best_seconds

LAYERS = [  # (in, out, epilogue, what)
    (192, 576, "none", "vit-tiny16 qkv"),
    (192, 192, "add", "vit-tiny16 proj"),
    (192, 768, "gelu", "vit-tiny16 fc1"),
    (768, 192, "add", "vit-tiny16 fc2"),
    (768, 2304, "none", "vit-base16 qkv"),
    (768, 768, "add", "vit-base16 proj"),
    (768, 3072, "gelu", "vit-base16 fc1"),
    (3072, 768, "add", "vit-base16 fc2"),
]


def micros(f):
    return best_seconds(f, runs=5) * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    mk = torch.ops.mkldnn
    with torch.inference_mode():
        for dtype in (torch.float32, torch.bfloat16):
            for rows in (197, 1576):
                for k, n, epilogue, what in LAYERS:
                    x, w, b = torch.randn(rows, k, dtype=dtype), torch.randn(n, k, dtype=dtype), torch.randn(n, dtype=dtype)
                    residual = torch.randn(rows, n, dtype=dtype)
                    packed = mk._reorder_linear_weight(w)
                    unary = "gelu" if epilogue == "gelu" else "none"
                    algorithm = "none" if epilogue == "gelu" else ""

                    def product(weight):
                        y = mk._linear_pointwise(x, weight, b, unary, [], algorithm)
                        return y.add_(residual) if epilogue == "add" else y

                    line = {
                        "layer": what,
                        "rows": rows,
                        "in": k,
                        "out": n,
                        "dtype": str(dtype).removeprefix("torch."),
                        "threads": args.threads,
                        "plain_us": round(micros(lambda: product(w)), 1),
                        "packed_us": round(micros(lambda: product(packed)), 1),
                    }
                    if epilogue == "add":
                        line["fused_add_packed_us"] = round(
                            micros(lambda: mk._linear_pointwise(x, residual, packed, b, "add")), 1
                        )
                    line["packed_gflops"] = round(2 * rows * k * n / line["packed_us"] / 1e3, 1)
                    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
