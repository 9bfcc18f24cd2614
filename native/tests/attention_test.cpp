// attention() with each kernel forced, float32 and bfloat16, against softmax(q·kᵀ/√d)·v and its autograd in
// float64: the output and the gradients of q, k and v, operands strided as the blocks make them (views of one qkv
// tensor), one and two threads; then the timed choice: it names a kernel and its timing leaves no gradient on the
// caller's tensors. Exits non-zero naming the first mismatch.
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "attention.h"
#include "close_checks.h"

namespace {

using mae_test::expect_close;
using mae_test::failures;

// [N, heads, T, d] views of a [N, T, 3, heads, d] tensor, as attention_heads makes them
std::vector<torch::Tensor> heads_of(const torch::Tensor& qkv) {
    auto p = qkv.permute({2, 0, 3, 1, 4});
    return {p[0], p[1], p[2]};
}

void check(int64_t n, int64_t heads, int64_t t, int64_t d, torch::ScalarType dtype, const std::string& name) {
    const std::string at = name + " [" + std::to_string(n) + "," + std::to_string(heads) + "," + std::to_string(t) +
                           "," + std::to_string(d) + "] " + (dtype == torch::kBFloat16 ? "bf16" : "f32");
    auto qkv64 = torch::randn({n, t, 3, heads, d}, torch::kFloat64);
    auto gy = torch::randn({n, heads, t, d}, torch::kFloat64);
    // the reference, in float64 from the same (rounded) inputs
    auto ref_in = qkv64.to(dtype).to(torch::kFloat64).requires_grad_(true);
    auto r = heads_of(ref_in);
    auto ref = torch::softmax(r[0].matmul(r[1].transpose(-2, -1)) / std::sqrt(static_cast<double>(d)), -1).matmul(r[2]);
    (ref * gy).sum().backward();

    auto in = qkv64.to(dtype).requires_grad_(true);
    auto h = heads_of(in);
    auto out = mae::attention(h[0], h[1], h[2]);
    if (out.scalar_type() != dtype) {
        std::fprintf(stderr, "FAIL %s: output dtype changed\n", at.c_str());
        ++failures;
    }
    (out.to(torch::kFloat64) * gy).sum().backward();
    const double tol = dtype == torch::kBFloat16 ? 3e-2 : 1e-5;
    expect_close(out, ref, tol, at + " output");
    auto g = heads_of(in.grad()), gr = heads_of(ref_in.grad());
    expect_close(g[0], gr[0], 2 * tol, at + " q gradient");
    expect_close(g[1], gr[1], 2 * tol, at + " k gradient");
    expect_close(g[2], gr[2], 2 * tol, at + " v gradient");
    torch::NoGradGuard no_grad;
    auto hn = heads_of(qkv64.to(dtype));
    expect_close(mae::attention(hn[0], hn[1], hn[2]), ref.detach(), tol, at + " output without autograd");
}

}  // namespace

int main() {
    torch::manual_seed(0);
    for (int threads : {1, 2}) {
        torch::set_num_threads(threads);
        for (auto kernel : {mae::AttentionKernel::Fused, mae::AttentionKernel::Composed}) {
            mae::force_attention_kernel(kernel);
            const std::string name = std::string(kernel == mae::AttentionKernel::Fused ? "fused" : "composed") + " " +
                                     std::to_string(threads) + " thr";
            for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
                check(3, 3, 13, 64, dtype, name);
                check(2, 4, 50, 32, dtype, name);
                check(1, 2, 1, 16, dtype, name);
            }
        }
    }
    mae::force_attention_kernel(std::nullopt);
    auto qkv = torch::randn({4, 50, 3, 3, 64}).requires_grad_(true);
    auto h = heads_of(qkv);
    const auto chosen = mae::attention_kernel_for(h[0], h[1], h[2]);  // timed now, forward and backward
    if (chosen != "fused" && chosen != "composed") {
        std::fprintf(stderr, "FAIL measured choice: %s\n", chosen.c_str());
        ++failures;
    }
    if (qkv.grad().defined()) {
        std::fprintf(stderr, "FAIL timing the kernels left a gradient on the caller's tensor\n");
        ++failures;
    }
    std::printf("attention: %d failures; measured kernel at [4,3,50,64] with autograd: %s\n", failures, chosen.c_str());
    return failures == 0 ? 0 : 1;
}
