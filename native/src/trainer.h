// A training step: forward with the masker's noise, backward, one AdamW update.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "adamw.h"
#include "masking.h"
#include "model.h"

namespace mae {

// Brings caller images to the model's dtype and device (a no-op, hence zero-copy, when they match)
// after checking their shape against the configuration.
torch::Tensor prepare_images(const MaeModel& model, const torch::Tensor& images);

// Clears gradients, runs forward and backward; the caller holds the model's exclusive lock.
ForwardOutput forward_backward(MaeModel& model, const torch::Tensor& imgs, Masker& masker);

class Trainer {
public:
    Trainer(std::shared_ptr<MaeModel> model, const mae_adamw_config& cfg);
    double step(const torch::Tensor& images, Masker& masker);
    void set_lr(double lr) { optimizer_.set_lr(lr); }
    int64_t step_count() const { return optimizer_.step_count(); }

private:
    std::shared_ptr<MaeModel> model_;
    AdamW optimizer_;
};

}  // namespace mae
