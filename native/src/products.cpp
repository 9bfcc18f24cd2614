#include "products.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <atomic>
#include <optional>
#include <tuple>

#include "timed_choice.h"

namespace mae {

namespace {

// What a product computes after the multiplication.
enum class Epilogue { None, Gelu, Add };

using PointwiseFn = at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, c10::string_view,
                               c10::List<std::optional<at::Scalar>>, std::optional<c10::string_view>);

// oneDNN's inner product as LibTorch registers it for inductor; absent from builds without mkldnn.
template <typename Fn>
std::optional<c10::TypedOperatorHandle<Fn>> find_op(const char* name, const char* overload) {
    auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
    if (!handle) return std::nullopt;
    return handle->typed<Fn>();
}

const std::optional<c10::TypedOperatorHandle<PointwiseFn>>& pointwise_op() {
    static const auto op = find_op<PointwiseFn>("mkldnn::_linear_pointwise", "");
    return op;
}

using ReorderFn = at::Tensor(const at::Tensor&, std::optional<int64_t>);

// oneDNN's weight reorder into the layout its inner product reads (an opaque MKLDNN tensor), as inductor packs
// frozen weights.
const std::optional<c10::TypedOperatorHandle<ReorderFn>>& reorder_op() {
    static const auto op = find_op<ReorderFn>("mkldnn::_reorder_linear_weight", "");
    return op;
}

// -1: measure; else the ProductKernel forced (read on every product: an atomic, no lock). MAE_PRODUCT_KERNEL=aten or
// onednn forces that kernel; anything else (or unset) measures.
std::atomic<int> forced{kernel_forced_by_environment("MAE_PRODUCT_KERNEL", {"aten", "onednn"})};

std::optional<ProductKernel> forced_kernel() {
    const int f = forced.load(std::memory_order_relaxed);
    return f < 0 ? std::nullopt : std::optional<ProductKernel>(static_cast<ProductKernel>(f));
}

bool onednn_can_run(const torch::Tensor& a, const torch::Tensor& b) {
    // oneDNN's product has no autograd: it runs where nothing is recorded (LinearFunction's passes, inference)
    if (!a.device().is_cpu()) return false;
    if (torch::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad())) return false;
    if (a.scalar_type() != b.scalar_type()) return false;
    if (a.scalar_type() != torch::kFloat32 && a.scalar_type() != torch::kBFloat16) return false;
    return pointwise_op().has_value();
}

torch::Tensor run_aten(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& bias, Epilogue e,
                       const torch::Tensor& residual) {
    auto y = bias.defined() ? torch::addmm(bias, a, b.t()) : a.mm(b.t());
    if (e == Epilogue::Gelu) return torch::gelu(y);
    if (e == Epilogue::Add) return y.add_(residual);
    return y;
}

torch::Tensor run_onednn(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& bias, Epilogue e,
                         const torch::Tensor& residual) {
    const std::optional<at::Tensor> bias_opt = bias.defined() ? std::optional<at::Tensor>(bias) : std::nullopt;
    // algorithm "none": the erf GELU, as torch::gelu's default
    auto y = pointwise_op()->call(a, b, bias_opt, e == Epilogue::Gelu ? "gelu" : "none",
                                  c10::List<std::optional<at::Scalar>>(),
                                  e == Epilogue::Gelu ? std::optional<c10::string_view>("none") : std::nullopt);
    // The residual is added in place after the product: oneDNN's fused "add" (_linear_pointwise.binary) ran 1.1–15×
    // slower than product-then-add at every encoder shape measured (benchmarks/README.md).
    return e == Epilogue::Add ? y.add_(residual) : y;
}

using Key = std::tuple<int64_t, int64_t, int64_t, bool, bool, bool, int, int, int>;

Key key_of(const torch::Tensor& a, const torch::Tensor& b, bool bias, Epilogue e) {
    // a transposed view (a weight gradient's gyᵀ) or weight (an input gradient's wᵀ) is a shape of its own
    const bool a_t = a.stride(-1) != 1, b_t = b.stride(-1) != 1;
    return {a.size(0),
            a.size(1),
            b.size(0),
            a_t,
            b_t,
            bias,
            static_cast<int>(e),
            static_cast<int>(a.scalar_type()),
            at::get_num_threads()};
}

ProductKernel choose(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& bias, Epilogue e,
                     const torch::Tensor& residual) {
    if (!onednn_can_run(a, b)) return ProductKernel::Aten;
    if (auto forced = forced_kernel()) return *forced;
    static TimedChoice<Key> choice;
    const bool onednn = choice.second_faster(
        key_of(a, b, bias.defined(), e),
        [&] {
            torch::NoGradGuard no_grad;  // timing records nothing
            run_aten(a, b, bias, e, residual);
        },
        [&] {
            torch::NoGradGuard no_grad;
            run_onednn(a, b, bias, e, residual);
        });
    return onednn ? ProductKernel::OneDnn : ProductKernel::Aten;
}

torch::Tensor dispatch(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& bias, Epilogue e,
                       const torch::Tensor& residual = {}) {
    if (b.is_mkldnn()) return run_onednn(a, b, bias, e, residual);  // a packed weight: only oneDNN reads it
    return choose(a, b, bias, e, residual) == ProductKernel::OneDnn ? run_onednn(a, b, bias, e, residual)
                                                                    : run_aten(a, b, bias, e, residual);
}

// [..., in] as [M, in]
torch::Tensor rows(const torch::Tensor& x) { return x.reshape({-1, x.size(-1)}); }

std::vector<int64_t> out_shape(const torch::Tensor& x, int64_t out) {
    auto shape = x.sizes().vec();
    shape.back() = out;
    return shape;
}

class LinearFunction : public torch::autograd::Function<LinearFunction> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                                 const torch::Tensor& b) {
        auto x2 = rows(x);
        ctx->save_for_backward({x2, w});
        ctx->saved_data["shape"] = x.sizes().vec();
        return dispatch(x2, w, b, Epilogue::None).view(out_shape(x, w.size(0)));
    }

    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list grads) {
        const auto saved = ctx->get_saved_variables();
        const auto& x2 = saved[0];
        const auto& w = saved[1];
        auto gy = grads[0].reshape({-1, w.size(0)});  // [M, out]
        torch::Tensor gx, gw, gb;
        if (ctx->needs_input_grad(0))
            gx = dispatch(gy, w.t(), {}, Epilogue::None).view(ctx->saved_data["shape"].toIntVector());
        if (ctx->needs_input_grad(1)) gw = dispatch(gy.t(), x2.t(), {}, Epilogue::None);  // [out, in]
        if (ctx->needs_input_grad(2)) gb = gy.sum(0);
        return {gx, gw, gb};
    }
};

bool needs_autograd(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
    return torch::GradMode::is_enabled() &&
           (x.requires_grad() || w.requires_grad() || (b.defined() && b.requires_grad()));
}

bool under_autocast(const torch::Tensor& x) { return at::autocast::is_autocast_enabled(x.device().type()); }

}  // namespace

torch::Tensor product(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& bias) {
    return dispatch(a, b, bias, Epilogue::None);
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
    if (under_autocast(x) || !x.device().is_cpu()) return torch::linear(x, w, b);
    if (needs_autograd(x, w, b)) return LinearFunction::apply(x, w, b);
    return dispatch(rows(x), w, b, Epilogue::None).view(out_shape(x, w.size(0)));
}

torch::Tensor linear_gelu(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
    if (under_autocast(x) || !x.device().is_cpu() || needs_autograd(x, w, b)) return torch::gelu(linear(x, w, b));
    return dispatch(rows(x), w, b, Epilogue::Gelu).view(out_shape(x, w.size(0)));
}

torch::Tensor linear_add(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                         const torch::Tensor& residual) {
    if (under_autocast(x) || !x.device().is_cpu() || needs_autograd(x, w, b) ||
        (torch::GradMode::is_enabled() && residual.requires_grad()) || residual.scalar_type() != x.scalar_type())
        return residual + linear(x, w, b);
    auto shape = out_shape(x, w.size(0));
    return dispatch(rows(x), w, b, Epilogue::Add, residual.expand(shape).reshape({-1, w.size(0)})).view(shape);
}

torch::Tensor packed_weight(const torch::Tensor& w, const torch::Tensor& bias, int64_t rows) {
    if (!reorder_op() || w.dim() != 2 || w.requires_grad() || rows < 1) return w;
    if (forced_kernel() == ProductKernel::Aten) return w;
    auto x = torch::randn({rows, w.size(1)}, w.options());
    if (!onednn_can_run(x, w)) return w;
    torch::NoGradGuard no_grad;
    auto packed = reorder_op()->call(w, std::nullopt);
    if (forced_kernel() == ProductKernel::OneDnn) return packed;
    static TimedChoice<Key> choice;
    const bool faster = choice.second_faster(
        key_of(x, w, bias.defined(), Epilogue::None), [&] { dispatch(x, w, bias, Epilogue::None); },
        [&] { run_onednn(x, packed, bias, Epilogue::None, {}); });
    return faster ? packed : w;
}

void force_product_kernel(std::optional<ProductKernel> kernel) {
    forced.store(kernel ? static_cast<int>(*kernel) : -1, std::memory_order_relaxed);
}

std::string product_kernel_for(int64_t m, int64_t k, int64_t n) {
    torch::NoGradGuard no_grad;
    auto a = torch::randn({m, k}), b = torch::randn({n, k}), bias = torch::randn({n});
    return choose(a, b, bias, Epilogue::None, {}) == ProductKernel::OneDnn ? "onednn" : "aten";
}

}  // namespace mae
