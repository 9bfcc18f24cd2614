// Scaled dot-product attention, the one place libmae's blocks attend. On the CPU it runs, per shape, dtype, thread
// count and whether a gradient is recorded, the faster of two kernels, timed once at the shape's first use: ATen's
// fused kernel (scaled_dot_product_attention: flash attention on the CPU) and the composed form the official code's
// Attention computes (timm 0.3.2: softmax(q·kᵀ·scale)·v, the two products in q's dtype, the softmax in float32 as
// autocast runs it). In bfloat16, forward and backward together, the fused kernel is 1.3–7× slower than the composed
// form at this project's shapes (benchmarks/README.md); in float32 the fused kernel is mostly the faster. CUDA and
// other dtypes run the fused kernel.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>

namespace mae {

enum class AttentionKernel { Fused, Composed };

// q, k, v [N, heads, T, head_dim] -> [N, heads, T, head_dim], scale 1/sqrt(head_dim).
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

// The kernel attention() runs for these operands now ("fused" or "composed"), measuring it if not yet known.
std::string attention_kernel_for(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

// Makes attention() run `kernel` wherever it can (nullopt: measure again). MAE_ATTENTION_KERNEL=fused|composed in
// the environment sets it at load; benchmarks and tests use both.
void force_attention_kernel(std::optional<AttentionKernel> kernel);

}  // namespace mae
