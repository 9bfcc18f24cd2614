#include "adamw.h"

#include <cmath>

#include "adamw_loop.h"
#include "errors.h"

namespace mae {

bool decays(const Param& p) {
    const std::string suffix = ".bias";
    const bool is_bias = p.name.size() >= suffix.size() &&
                         p.name.compare(p.name.size() - suffix.size(), suffix.size(), suffix) == 0;
    return p.value.dim() > 1 && !is_bias;
}

ParamGroup pretrain_group(const Param& p) { return {decays(p), 1.0}; }

namespace {

// Whether adamw_loop can take these tensors: CPU, float or double, one dtype, contiguous.
bool fusable(const torch::Tensor& param, const torch::Tensor& grad, const torch::Tensor& exp_avg,
             const torch::Tensor& exp_avg_sq) {
    const auto dtype = param.scalar_type();
    if (dtype != torch::kFloat && dtype != torch::kDouble) return false;
    for (const auto* t : {&param, &grad, &exp_avg, &exp_avg_sq}) {
        if (!t->device().is_cpu() || t->scalar_type() != dtype || !t->is_contiguous() || t->numel() != param.numel())
            return false;
    }
    return true;
}

// One pass of adamw_loop, split as ATen's element-wise ops split a tensor over the intra-op threads.
void update_in_one_pass(torch::Tensor& param, const torch::Tensor& grad, torch::Tensor& exp_avg, torch::Tensor& exp_avg_sq,
                        const AdamWScalars& s) {
    at::parallel_for(0, param.numel(), at::internal::GRAIN_SIZE, [&](int64_t begin, int64_t end) {
        if (param.scalar_type() == torch::kFloat) {
            adamw_loop(param.data_ptr<float>() + begin, grad.data_ptr<float>() + begin, exp_avg.data_ptr<float>() + begin,
                       exp_avg_sq.data_ptr<float>() + begin, end - begin, s);
        } else {
            adamw_loop(param.data_ptr<double>() + begin, grad.data_ptr<double>() + begin, exp_avg.data_ptr<double>() + begin,
                       exp_avg_sq.data_ptr<double>() + begin, end - begin, s);
        }
    });
}

}  // namespace

void validate_adamw_config(const mae_adamw_config& c) {
    require(std::isfinite(c.lr) && c.lr >= 0, "learning rate must be finite and >= 0, got " + std::to_string(c.lr));
    require(c.beta1 >= 0 && c.beta1 < 1, "beta1 must be in [0, 1), got " + std::to_string(c.beta1));
    require(c.beta2 >= 0 && c.beta2 < 1, "beta2 must be in [0, 1), got " + std::to_string(c.beta2));
    require(std::isfinite(c.eps) && c.eps > 0, "eps must be finite and > 0, got " + std::to_string(c.eps));
    require(std::isfinite(c.weight_decay) && c.weight_decay >= 0,
            "weight_decay must be finite and >= 0, got " + std::to_string(c.weight_decay));
}

AdamW::AdamW(std::vector<Param>& params, const mae_adamw_config& cfg, const GroupRule& group) : cfg_(cfg) {
    validate_adamw_config(cfg);
    for (auto& p : params) {
        if (!p.trainable) continue;  // the fixed position tables are not trained
        const auto g = group(p);
        require(std::isfinite(g.lr_scale) && g.lr_scale >= 0,
                "lr_scale of '" + p.name + "' must be finite and >= 0, got " + std::to_string(g.lr_scale));
        slots_.push_back({p.name, p.value, torch::zeros_like(p.value), torch::zeros_like(p.value), g.decay, g.lr_scale});
    }
    for (const auto& s : slots_) slot_sizes_.push_back(s.param.numel());
    for (const auto& s : slots_) state_names_.push_back("exp_avg." + s.name);
    for (const auto& s : slots_) state_names_.push_back("exp_avg_sq." + s.name);
    state_names_.push_back("step");
}

void AdamW::set_step_count(int64_t step) {
    require(step >= 0, "step count must be >= 0, got " + std::to_string(step));
    step_ = step;
    applied_.fill_(static_cast<double>(step));
}

torch::Tensor& AdamW::state(const std::string& name) {
    for (auto& s : slots_) {
        if (name == "exp_avg." + s.name) return s.exp_avg;
        if (name == "exp_avg_sq." + s.name) return s.exp_avg_sq;
    }
    if (name == "step") return applied_;
    throw InvalidArgument("no optimiser state named '" + name + "'");
}

void AdamW::set_lr(double lr) {
    require(std::isfinite(lr) && lr >= 0, "learning rate must be finite and >= 0, got " + std::to_string(lr));
    cfg_.lr = lr;
}

void AdamW::step(StepThreads* threads) {
    ++step_;
    const double t = applied_.item<double>() + 1;  // this update's number among those applied
    applied_.fill_(t);
    const double b1 = cfg_.beta1, b2 = cfg_.beta2;
    const double bias_correction1 = 1.0 - std::pow(b1, t);
    const double bias_correction2 = 1.0 - std::pow(b2, t);
    const double bias_correction2_sqrt = std::sqrt(bias_correction2);
    auto update = [&](size_t i) {
        torch::NoGradGuard no_grad;
        auto& s = slots_[i];
        const auto& grad = s.param.grad();
        if (!grad.defined()) return;
        const double lr = cfg_.lr * s.lr_scale;  // util/lr_sched.py: lr * param_group["lr_scale"]
        const double step_size = lr / bias_correction1;
        const double decay = s.decay ? 1.0 - lr * cfg_.weight_decay : 1.0;
        if (fusable(s.param, grad, s.exp_avg, s.exp_avg_sq)) {
            update_in_one_pass(s.param, grad, s.exp_avg, s.exp_avg_sq, {decay, b1, b2, bias_correction2_sqrt, cfg_.eps, step_size});
            return;
        }
        // Elsewhere (CUDA, half precision) the same update as tensor ops.
        if (s.decay) s.param.mul_(decay);
        s.exp_avg.lerp_(grad, 1.0 - b1);
        s.exp_avg_sq.mul_(b2).addcmul_(grad, grad, 1.0 - b2);
        auto denom = (s.exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(cfg_.eps);
        s.param.addcdiv_(s.exp_avg, denom, -step_size);
    };
    if (threads != nullptr && threads->size() > 1) {
        threads->run_items(slot_sizes_, update);
    } else {
        for (size_t i = 0; i < slots_.size(); ++i) update(i);
    }
}

}  // namespace mae
