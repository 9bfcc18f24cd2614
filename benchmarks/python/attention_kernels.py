"""Attention at the models' shapes: ATen's fused kernel (F.scaled_dot_product_attention, flash attention on the CPU)
against the composed form libmae may run instead (softmax(q·kᵀ·scale)·v, products in the operands' dtype, softmax in
float32), float32 and bfloat16, forward+backward (training) and forward alone (inference), ms per call, best of three
0.3 s runs.   python benchmarks/python/attention_kernels.py"""
import torch
import torch.nn.functional as F

from timing import best_seconds

# (intra-op threads, [N, heads, T, head_dim]): fashion-mnist's and vit-tiny16's shards (one thread each), ViT-B/16
SHAPES = [(1, (128, 3, 13, 64)), (1, (128, 4, 50, 32)), (1, (4, 3, 50, 64)), (1, (4, 4, 197, 32)),
          (2, (8, 12, 50, 64)), (2, (8, 16, 197, 32)), (2, (32, 12, 197, 64))]


def ms(f):
    return best_seconds(f, runs=3) * 1e3


def composed(q, k, v):
    scores = q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5
    return torch.softmax(scores, -1, dtype=torch.float32).to(q.dtype) @ v


def main():
    for threads, (n, h, t, d) in SHAPES:
        torch.set_num_threads(threads)
        for dtype in (torch.float32, torch.bfloat16):
            q, k, v = [torch.randn(n, h, t, d, dtype=dtype, requires_grad=True) for _ in range(3)]
            train_fused = ms(lambda: F.scaled_dot_product_attention(q, k, v).sum().backward())
            train_composed = ms(lambda: composed(q, k, v).sum().backward())
            with torch.no_grad():
                infer_fused = ms(lambda: F.scaled_dot_product_attention(q, k, v))
                infer_composed = ms(lambda: composed(q, k, v))
            print(f"{threads} thr [{n},{h},{t},{d}] {str(dtype)[6:]:8s} train: fused {train_fused:7.2f} "
                  f"composed {train_composed:7.2f} | inference: fused {infer_fused:7.2f} composed {infer_composed:7.2f}")


if __name__ == "__main__":
    main()
