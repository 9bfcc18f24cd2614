#include "training.h"

#include <cmath>
#include <mutex>
#include <optional>

#include "classifier.h"
#include "errors.h"
#include "finite_loop.h"
#include "tensors.h"

namespace mae {

namespace {

// One read of a contiguous CPU float or double tensor; null when the tensor needs libtorch's ops instead.
std::optional<bool> finite_in_one_pass(const torch::Tensor& t) {
    if (!t.device().is_cpu() || !t.is_contiguous()) return std::nullopt;
    if (t.scalar_type() == torch::kFloat) return all_finite_loop(t.data_ptr<float>(), t.numel());
    if (t.scalar_type() == torch::kDouble) return all_finite_loop(t.data_ptr<double>(), t.numel());
    return std::nullopt;
}

}  // namespace

torch::Tensor non_finite_flag(const torch::Tensor& loss, const std::vector<Param>& params) {
    // On the CPU there is no device to wait for: one read per gradient on the host (finite_loop.h). CPU
    // _foreach_norm(inf) is slow: 21 ms for vit-tiny16's 6.4 M gradients on one thread (PyTorch 2.13).
    if (loss.device().is_cpu()) return torch::full({1}, all_finite(loss, params) ? 0.0F : 1.0F);
    torch::NoGradGuard no_grad;
    auto finite = torch::isfinite(loss).all();
    std::vector<torch::Tensor> grads;
    for (const auto& p : params)
        if (p.trainable && p.value.grad().defined()) grads.push_back(p.value.grad());
    // A NaN or Inf anywhere makes some gradient's largest magnitude non-finite: one multi-tensor read, no wait.
    if (!grads.empty())
        finite = finite.logical_and(torch::isfinite(torch::stack(at::_foreach_norm(grads, INFINITY))).all());
    return finite.logical_not().to(torch::kFloat).reshape({1});
}

bool all_finite(const torch::Tensor& loss, const std::vector<Param>& params) {
    torch::NoGradGuard no_grad;
    auto ok = torch::isfinite(loss).all();
    for (const auto& p : params) {
        const auto& g = p.value.grad();
        if (!g.defined()) continue;
        if (auto one_pass = finite_in_one_pass(g)) {
            if (!*one_pass) return false;
        } else {
            ok = ok.logical_and(torch::isfinite(g).all());
        }
    }
    return ok.item<bool>();
}

std::vector<torch::Tensor> trainable(const std::vector<Param>& params) {
    std::vector<torch::Tensor> values;
    for (const auto& p : params)
        if (p.trainable) values.push_back(p.value);
    return values;
}

template <class Net>
Training<Net>::Training(std::shared_ptr<Net> model, const mae_adamw_config& cfg, const GroupRule& group)
    : model_(std::move(model)), optimizer_(model_->params(), cfg, group) {}

template <class Net>
void Training<Net>::set_lr(double lr) {
    std::unique_lock<std::shared_mutex> lock(model_->lock());
    optimizer_.set_lr(lr);
}

template <class Net>
void Training<Net>::set_step_count(int64_t step) {
    std::unique_lock<std::shared_mutex> lock(model_->lock());
    optimizer_.set_step_count(step);
}

template <class Net>
void Training<Net>::set_step_threads(int threads) {
    std::unique_lock<std::shared_mutex> lock(model_->lock());
    require(threads >= 1, "step threads must be >= 1, got " + std::to_string(threads));
    require_idle();
    // On CUDA one stream does the work: nothing to split.
    threads_ = threads == 1 || !model_->device().is_cpu() ? nullptr : std::make_unique<StepThreads>(threads);
}

template <class Net>
void Training<Net>::set_process_group(std::shared_ptr<ProcessGroup> group, int64_t bucket_bytes) {
    std::unique_lock<std::shared_mutex> lock(model_->lock());
    require_idle();
    sync_ = GradientSync::join(std::move(group), model_->params(), bucket_bytes);
}

template <class Net>
const std::string& Training<Net>::state_name(int64_t index) const {
    const auto& names = optimizer_.state_names();
    require(index >= 0 && index < static_cast<int64_t>(names.size()),
            "index must be in [0, " + std::to_string(names.size()) + "), got " + std::to_string(index));
    return names[static_cast<size_t>(index)];
}

template <class Net>
torch::Tensor Training<Net>::state_copy(const std::string& name) {
    std::shared_lock<std::shared_mutex> lock(model_->lock());
    return optimizer_.state(name).clone();
}

template <class Net>
void Training<Net>::state_set(const std::string& name, const torch::Tensor& value) {
    std::unique_lock<std::shared_mutex> lock(model_->lock());
    if (name == "step" && value.is_floating_point() && value.numel() == 1) {
        const double v = value.to(torch::kFloat64).item<double>();
        require(v >= 0 && v == std::floor(v) && v < 9007199254740992.0,
                "optimiser state 'step' counts updates: a whole number >= 0, got " + std::to_string(v));
    }
    copy_checked(optimizer_.state(name), value, "optimiser state '" + name + "'");
}

template <class Net>
void Training<Net>::update(bool finite) {
    auto& params = model_->params();
    if (skips_on_device()) {
        const auto on_device = torch::TensorOptions().device(model_->device());
        const torch::Tensor window = torch::full({}, finite ? 0.0 : NAN, on_device);
        const torch::Tensor found_inf = non_finite_flag(window, params);
        optimizer_.step_unless(found_inf, threads_.get());
        settle(found_inf.item<float>() != 0);
        return;
    }
    // A NaN or Inf would poison the weights and AdamW's moments for good: skip the update instead, and count it.
    if (finite && all_finite(torch::zeros({}), params)) {
        optimizer_.step(threads_.get());
    } else {
        optimizer_.skip();
        ++skipped_;
    }
    clear_gradients(params);
}

template <class Net>
void Training<Net>::settle(bool skipped) {
    optimizer_.settle(skipped);
    if (skipped) ++skipped_;
    clear_gradients(model_->params());
}

template class Training<MaeModel>;
template class Training<VitClassifier>;

}  // namespace mae
