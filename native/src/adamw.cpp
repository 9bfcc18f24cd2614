#include "adamw.h"

#include <cmath>
#include <map>

#include "errors.h"

namespace mae {

bool decays(const Param& p) {
    const std::string suffix = ".bias";
    const bool is_bias =
        p.name.size() >= suffix.size() && p.name.compare(p.name.size() - suffix.size(), suffix.size(), suffix) == 0;
    return p.value.dim() > 1 && !is_bias;
}

ParamGroup pretrain_group(const Param& p) { return {decays(p), 1.0}; }

namespace {

// Whether ATen's fused kernel takes this parameter: a floating dtype, dense and contiguous, on the CPU or CUDA.
bool fusable(const torch::Tensor& param) {
    return at::isFloatingType(param.scalar_type()) && param.layout() == torch::kStrided && param.is_contiguous() &&
           (param.device().is_cpu() || param.device().is_cuda());
}

// torch.optim.AdamW's single-tensor update as tensor ops, for a parameter the fused kernel does not take.
void update_with_tensor_ops(torch::Tensor& param, const torch::Tensor& grad, torch::Tensor& exp_avg,
                            torch::Tensor& exp_avg_sq, double lr, double weight_decay, double b1, double b2, double eps,
                            double t) {
    const double bias_correction1 = 1.0 - std::pow(b1, t), bias_correction2_sqrt = std::sqrt(1.0 - std::pow(b2, t));
    param.mul_(1.0 - lr * weight_decay);
    exp_avg.lerp_(grad, 1.0 - b1);
    exp_avg_sq.mul_(b2).addcmul_(grad, grad, 1.0 - b2);
    auto denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps);
    param.addcdiv_(exp_avg, denom, -lr / bias_correction1);
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
        slots_.push_back({p.name, p.value, torch::zeros_like(p.value), torch::zeros_like(p.value), g.decay, g.lr_scale,
                          fusable(p.value)});
        fused_everywhere_ = fused_everywhere_ && slots_.back().fused;
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
    const double t = applied_.item<double>() + 1;  // this update's number among those applied (a CPU tensor)
    applied_.fill_(t);
    update(t, std::nullopt, nullptr == threads || threads->size() <= 1 ? nullptr : threads);
}

void AdamW::step_unless(const torch::Tensor& found_inf, StepThreads* threads) {
    ++step_;
    update(applied_.item<double>() + 1, found_inf, nullptr == threads || threads->size() <= 1 ? nullptr : threads);
}

void AdamW::settle(bool skipped) {
    if (!skipped) applied_.add_(1);
}

void AdamW::update(double t, const std::optional<torch::Tensor>& found_inf, StepThreads* threads) {
    torch::NoGradGuard no_grad;
    const auto weight_decay = [&](const Slot& s) { return s.decay ? cfg_.weight_decay : 0.0; };
    // The kernel reads the update's number from a tensor on the parameters' device; filling it queues no wait.
    if (!slots_.empty() && (!fused_step_.defined() || fused_step_.device() != slots_[0].param.device()))
        fused_step_ = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat).device(slots_[0].param.device()));
    if (fused_step_.defined()) fused_step_.fill_(t);
    auto grad_of = [](const Slot& s) {
        const auto& g = s.param.grad();
        return g.is_contiguous() ? g : g.contiguous();
    };
    if (threads != nullptr) {
        // Each tensor on its own (every update is independent of the others'), shared out over the threads.
        threads->run_items(slot_sizes_, [&](size_t i) {
            torch::NoGradGuard no_grad_here;
            auto& s = slots_[i];
            if (!s.param.grad().defined()) return;
            const double lr = cfg_.lr * s.lr_scale;  // util/lr_sched.py: lr * param_group["lr_scale"]
            if (!s.fused) {
                update_with_tensor_ops(s.param, s.param.grad(), s.exp_avg, s.exp_avg_sq, lr, weight_decay(s),
                                       cfg_.beta1, cfg_.beta2, cfg_.eps, t);
                return;
            }
            at::_fused_adamw_({s.param}, {grad_of(s)}, {s.exp_avg}, {s.exp_avg_sq}, {}, {fused_step_}, lr, cfg_.beta1,
                              cfg_.beta2, weight_decay(s), cfg_.eps, false, false, std::nullopt, found_inf);
        });
        return;
    }
    // One fused call per parameter group (learning rate and decay), as torch.optim.AdamW(fused=True) makes them.
    std::map<std::pair<double, double>, std::vector<size_t>> groups;
    for (size_t i = 0; i < slots_.size(); ++i) {
        auto& s = slots_[i];
        if (!s.param.grad().defined()) continue;
        if (s.fused) {
            groups[{s.lr_scale, weight_decay(s)}].push_back(i);
        } else {
            update_with_tensor_ops(s.param, s.param.grad(), s.exp_avg, s.exp_avg_sq, cfg_.lr * s.lr_scale,
                                   weight_decay(s), cfg_.beta1, cfg_.beta2, cfg_.eps, t);
        }
    }
    for (const auto& [key, members] : groups) {
        std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
        for (size_t i : members) {
            params.push_back(slots_[i].param);
            grads.push_back(grad_of(slots_[i]));
            exp_avgs.push_back(slots_[i].exp_avg);
            exp_avg_sqs.push_back(slots_[i].exp_avg_sq);
            steps.push_back(fused_step_);
        }
        at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, {}, steps, cfg_.lr * key.first, cfg_.beta1, cfg_.beta2,
                          key.second, cfg_.eps, false, false, std::nullopt, found_inf);
    }
}

}  // namespace mae
