// product(), linear, linear_gelu and linear_add with each kernel forced, against ATen's own linear, GELU and
// autograd: forward outputs and the input, weight and bias gradients, float32 and bfloat16, plain and transposed
// operands, weights packed for oneDNN (packed_weight), one and two threads. Exits non-zero naming the first mismatch.
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "close_checks.h"
#include "products.h"

namespace {

using mae_test::expect_close;
using mae_test::failures;

void check_shape(int64_t m, int64_t k, int64_t n, const std::string& kernel) {
    const std::string at = kernel + " [" + std::to_string(m) + "x" + std::to_string(k) + "]·[" + std::to_string(n) +
                           "x" + std::to_string(k) + "]ᵀ";
    auto x = torch::randn({2, m, k}), w = torch::randn({n, k}) / std::sqrt(k), b = torch::randn({n});
    auto residual = torch::randn({2, m, n});
    {
        torch::NoGradGuard no_grad;
        expect_close(mae::linear(x, w, b), torch::linear(x, w, b), 1e-5, at + " forward");
        expect_close(mae::linear_gelu(x, w, b), torch::gelu(torch::linear(x, w, b)), 1e-5, at + " linear_gelu");
        expect_close(mae::linear_add(x, w, b, residual), residual + torch::linear(x, w, b), 1e-5, at + " linear_add");
        auto xt = torch::randn({k, m}).t();  // a transposed view, as a weight gradient's gyᵀ
        expect_close(mae::product(xt, w.t().contiguous().t()), xt.mm(w.t()), 1e-5, at + " transposed operands");
        auto xb = x.to(torch::kBFloat16), wb = w.to(torch::kBFloat16), bb = b.to(torch::kBFloat16);
        expect_close(mae::linear(xb, wb, bb), torch::linear(xb, wb, bb), 2e-2, at + " bf16 forward");
        // an inference weight reordered for oneDNN where oneDNN runs (forced), the weight itself where ATen does
        const bool onednn = kernel.rfind("onednn", 0) == 0;
        for (const auto& [weight, bias, input, tol, dtype] :
             {std::tuple{w, b, x, 1e-5, std::string("")}, std::tuple{wb, bb, xb, 2e-2, std::string(" bf16")}}) {
            auto packed = mae::packed_weight(weight, bias, m);
            if (packed.is_mkldnn() != onednn) {
                std::fprintf(stderr, "FAIL %s%s: packed_weight gave %s weight\n", at.c_str(), dtype.c_str(),
                             packed.is_mkldnn() ? "a packed" : "the plain");
                ++failures;
            }
            auto r = residual.to(input.scalar_type());
            expect_close(mae::linear(input, packed, bias), torch::linear(input, weight, bias), tol,
                         at + dtype + " packed forward");
            expect_close(mae::linear_gelu(input, packed, bias), torch::gelu(torch::linear(input, weight, bias)), tol,
                         at + dtype + " packed linear_gelu");
            expect_close(mae::linear_add(input, packed, bias, r), r + torch::linear(input, weight, bias), tol,
                         at + dtype + " packed linear_add");
        }
    }
    // gradients through LinearFunction against torch::linear's autograd
    auto x1 = x.clone().requires_grad_(true), w1 = w.clone().requires_grad_(true), b1 = b.clone().requires_grad_(true);
    auto x2 = x.clone().requires_grad_(true), w2 = w.clone().requires_grad_(true), b2 = b.clone().requires_grad_(true);
    auto gy = torch::randn({2, m, n});
    (mae::linear_gelu(x1, w1, b1) * gy).sum().backward();
    (torch::gelu(torch::linear(x2, w2, b2)) * gy).sum().backward();
    expect_close(x1.grad(), x2.grad(), 1e-5, at + " input gradient");
    expect_close(w1.grad(), w2.grad(), 1e-5, at + " weight gradient");
    expect_close(b1.grad(), b2.grad(), 1e-5, at + " bias gradient");
    // a frozen weight gets no gradient and the input's is still right (partial fine-tuning's lower edge)
    auto x3 = x.clone().requires_grad_(true);
    (mae::linear(x3, w, b) * gy).sum().backward();
    expect_close(x3.grad(), gy.matmul(w), 1e-5, at + " input gradient under a frozen weight");
}

}  // namespace

int main() {
    torch::manual_seed(0);
    for (int threads : {1, 2}) {
        torch::set_num_threads(threads);
        for (auto kernel : {mae::ProductKernel::Aten, mae::ProductKernel::OneDnn}) {
            mae::force_product_kernel(kernel);
            const std::string name = std::string(kernel == mae::ProductKernel::Aten ? "aten" : "onednn") + " " +
                                     std::to_string(threads) + " thr";
            for (auto [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{197, 192, 576},
                                   {50, 768, 3072},
                                   {17, 3072, 768},
                                   {1, 64, 10},
                                   {65, 48, 192}})
                check_shape(m, k, n, name);
        }
    }
    mae::force_product_kernel(std::nullopt);
    const auto chosen = mae::product_kernel_for(197, 192, 576);
    if (chosen != "aten" && chosen != "onednn") {
        std::fprintf(stderr, "FAIL measured choice: %s\n", chosen.c_str());
        ++failures;
    }
    std::printf("products: %d failures; measured kernel at [197x192]·[576x192]ᵀ: %s\n", failures, chosen.c_str());
    return failures == 0 ? 0 : 1;
}
