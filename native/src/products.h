// The one place libmae's linear layers multiply. Every linear layer's forward product and both backward products
// (input and weight gradients) go through product(), which runs, per shape and thread count, the faster of the
// kernels the bundled LibTorch carries: ATen's (mm/addmm: MKL's sgemm on CPU) and oneDNN's inner product
// (mkldnn::_linear_pointwise), chosen by timing both once, at the shape's first use on this machine — never by the
// CPU's vendor. Where oneDNN is not the faster (or not there), nothing changes: ATen's kernel runs as before.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>

namespace mae {

// The kernels product() chooses among.
enum class ProductKernel { Aten, OneDnn };

// a [M, K] · bᵀ (b [N, K]) + bias [N] (undefined: none) -> [M, N]; a and b may be transposed views. CPU float32
// and bfloat16 products are dispatched; any other (CUDA, float64) runs ATen's.
torch::Tensor product(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& bias = {});

// A linear layer with autograd: x [..., in] · wᵀ (w [out, in]) + b [out] -> [..., out], its three products through
// product(). Under autocast (bf16 mixed precision) it is torch::linear, autocast's cast rules included.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b);

// gelu(linear(x, w, b)) (erf GELU), with the GELU fused into oneDNN's product where no gradient is needed and oneDNN
// is the faster kernel for the shape.
torch::Tensor linear_gelu(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b);

// residual + linear(x, w, b), where no gradient is needed added in place on the product's output (no third tensor).
torch::Tensor linear_add(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                         const torch::Tensor& residual);

// w [out, in] reordered once into the layout oneDNN's inner product reads (an opaque MKLDNN tensor), for weights
// that no longer change (an inference encoder's), where oneDNN on that copy runs a [rows, in] product faster than
// product() on w (timed once per shape, dtype and thread count); else w itself, as where oneDNN is absent or w is
// not a CPU float32/bfloat16 matrix. Products on a packed weight always run oneDNN's kernel and record no gradient.
torch::Tensor packed_weight(const torch::Tensor& w, const torch::Tensor& bias, int64_t rows);

// The kernel product() runs for a [m, k] · [n, k]ᵀ product at the current thread count ("aten" or "onednn"),
// measuring it if not yet known; for benchmarks and tests.
std::string product_kernel_for(int64_t m, int64_t k, int64_t n);

// Makes product() run `kernel` wherever it can (nullopt: measure again). MAE_PRODUCT_KERNEL=aten|onednn in the
// environment sets it at load; benchmarks and tests use both.
void force_product_kernel(std::optional<ProductKernel> kernel);

}  // namespace mae
