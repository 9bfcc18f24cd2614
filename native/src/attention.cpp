#include "attention.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <cmath>
#include <tuple>

#include "timed_choice.h"

namespace mae {

namespace {

// -1: measure; else the AttentionKernel forced (MAE_ATTENTION_KERNEL=fused or composed)
std::atomic<int> forced{kernel_forced_by_environment("MAE_ATTENTION_KERNEL", {"fused", "composed"})};

torch::Tensor fused(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
    return at::scaled_dot_product_attention(q, k, v);  // scale 1/sqrt(head_dim)
}

// timm 0.3.2's Attention: attn = (q @ kᵀ) * scale; attn.softmax(-1); attn @ v — under autocast the products in
// bfloat16 and the softmax in float32, its probabilities rounded to bfloat16 for the second product
torch::Tensor composed(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
    const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
    auto scores = at::matmul(q, k.transpose(-2, -1)) * scale;  // [N, heads, T, T]
    auto probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
    return at::matmul(probs, v);
}

bool records_gradient(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
    return torch::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
}

bool can_choose(const torch::Tensor& q) {
    return q.device().is_cpu() && (q.scalar_type() == torch::kFloat32 || q.scalar_type() == torch::kBFloat16);
}

using Kernel = torch::Tensor (*)(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&);

// One call as the step would make it: forward alone, or forward and backward on detached copies of the operands
// (their own graph, nothing reaches the caller's)
void time_once(Kernel kernel, const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, bool grad) {
    if (!grad) {
        torch::NoGradGuard no_grad;
        kernel(q, k, v);
        return;
    }
    auto qq = q.detach().requires_grad_(), kk = k.detach().requires_grad_(), vv = v.detach().requires_grad_();
    auto out = kernel(qq, kk, vv);
    out.backward(torch::ones_like(out));
}

using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int, bool, int>;

AttentionKernel choose(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
    if (!can_choose(q)) return AttentionKernel::Fused;
    const int f = forced.load(std::memory_order_relaxed);
    if (f >= 0) return static_cast<AttentionKernel>(f);
    static TimedChoice<Key> choice;
    const bool grad = records_gradient(q, k, v);
    const Key key{q.size(0), q.size(1),
                  q.size(2), k.size(2),
                  q.size(3), static_cast<int>(q.scalar_type()),
                  grad,      at::get_num_threads()};
    const bool composed_faster = choice.second_faster(
        key, [&] { time_once(&fused, q, k, v, grad); }, [&] { time_once(&composed, q, k, v, grad); });
    return composed_faster ? AttentionKernel::Composed : AttentionKernel::Fused;
}

}  // namespace

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
    return choose(q, k, v) == AttentionKernel::Composed ? composed(q, k, v) : fused(q, k, v);
}

std::string attention_kernel_for(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
    return choose(q, k, v) == AttentionKernel::Composed ? "composed" : "fused";
}

void force_attention_kernel(std::optional<AttentionKernel> kernel) {
    forced.store(kernel ? static_cast<int>(*kernel) : -1, std::memory_order_relaxed);
}

}  // namespace mae
