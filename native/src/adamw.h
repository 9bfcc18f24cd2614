// AdamW exactly as torch.optim.AdamW (decoupled weight decay, bias-corrected moments), with the
// reference's parameter groups: no decay on 1-D parameters and biases, decay on everything else. The update is
// ATen's fused kernel (torch.optim.AdamW(fused=True)) on the CPU and CUDA: benchmarks/README.md has the A/B.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <optional>
#include <vector>

#include "mae.h"
#include "model.h"
#include "step_threads.h"

namespace mae {

// timm's rule, which the reference's param_groups_weight_decay applies.
bool decays(const Param& p);

// A parameter's optimiser group: whether weight decay applies, and its multiplier of the learning rate.
struct ParamGroup {
    bool decay;
    double lr_scale;
};
using GroupRule = std::function<ParamGroup(const Param&)>;

// Pretraining: timm's decay rule, one learning rate.
ParamGroup pretrain_group(const Param& p);

class AdamW {
public:
    AdamW(std::vector<Param>& params, const mae_adamw_config& cfg, const GroupRule& group = pretrain_group);

    // One update from the parameters' current .grad; parameters without a gradient are skipped. With `threads`,
    // the parameters are updated on those threads (each tensor's update is independent of the others').
    void step(StepThreads* threads = nullptr);
    // The same update, unless found_inf (F32 [1] on the parameters' device) is non-zero: the device decides, so
    // the host need not wait. The step count advances; the caller then reads found_inf and calls settle().
    void step_unless(const torch::Tensor& found_inf, StepThreads* threads = nullptr);
    // Whether the update step_unless() enqueued was skipped: counts it among the updates applied, or not.
    void settle(bool skipped);
    // Whether every trained parameter takes ATen's fused kernel (a floating dtype, contiguous, CPU or CUDA):
    // step_unless() needs it, having no host-side fallback that can wait for found_inf.
    bool fused_everywhere() const { return fused_everywhere_; }
    // Counts an update that was skipped (a non-finite gradient): no tensor changes and the bias correction's
    // count ("step") stays, as torch's GradScaler skips optimizer.step(); the step count advances so that
    // schedules and data positions keyed to it stay in step.
    void skip() { ++step_; }
    void set_lr(double lr);
    int64_t step_count() const { return step_; }
    // Sets the step count and, as if no update had been skipped, the updates applied ("step").
    void set_step_count(int64_t step);

    // "exp_avg.<param>" and "exp_avg_sq.<param>" per trained parameter, in parameter order, then "step": the
    // updates applied, which the bias correction counts (torch's state["step"]), as F64 [1].
    const std::vector<std::string>& state_names() const { return state_names_; }
    torch::Tensor& state(const std::string& name);  // throws InvalidArgument for an unknown name

private:
    // The update numbered t among those applied, skipped on the device where found_inf is given and non-zero.
    void update(double t, const std::optional<torch::Tensor>& found_inf, StepThreads* threads);

    struct Slot {
        std::string name;
        torch::Tensor param, exp_avg, exp_avg_sq;
        bool decay;
        double lr_scale;
        bool fused;  // ATen's fused kernel takes it (parameters keep their dtype and layout)
    };
    std::vector<Slot> slots_;
    std::vector<int64_t> slot_sizes_;  // elements per slot: how step() shares the slots out over threads
    std::vector<std::string> state_names_;
    mae_adamw_config cfg_;
    bool fused_everywhere_ = true;
    int64_t step_ = 0;
    torch::Tensor applied_ = torch::zeros({1}, torch::kFloat64);
    torch::Tensor fused_step_;  // F32 [] on the parameters' device: the update's number, as the fused kernel reads it
};

void validate_adamw_config(const mae_adamw_config& cfg);

}  // namespace mae
