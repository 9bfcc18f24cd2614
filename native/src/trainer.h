// Pretraining's step: forward with the masker's noise, backward, one AdamW update (training.h has what it shares
// with fine-tuning).
#pragma once

#include <torch/torch.h>

#include <memory>

#include "host_staging.h"
#include "masking.h"
#include "model.h"
#include "step_threads.h"
#include "training.h"

namespace mae {

// With `staging`, CPU images bound for CUDA go through its pinned buffers (host_staging.h).
torch::Tensor prepare_images(const MaeModel& model, const torch::Tensor& images, HostStaging* staging = nullptr);

void clear_gradients(MaeModel& model);

// The same split over `threads` (batch shards, the masks drawn for the whole batch first); returns the batch's
// loss, equal to the unsplit loss up to rounding.
double forward_backward_in_shards(MaeModel& model, const torch::Tensor& imgs, Masker& masker, double loss_scale,
                                  StepThreads& threads);

class Trainer : public Training<MaeModel> {
public:
    Trainer(std::shared_ptr<MaeModel> model, const mae_adamw_config& cfg);
    // One update from one batch; refused while an accumulation is pending. Undistributed and unsplit, the whole
    // step is queued on the device and read back once, at its end (step_with_one_read): on CUDA the host waits
    // for the device once per step.
    double step(const torch::Tensor& images, Masker& masker);
    // Adds loss_scale · the micro-batch's gradients; returns its (unscaled) loss. `last` marks the window's last
    // micro-batch: with a process group its backward pass all-reduces the gradients as they come.
    double accumulate(const torch::Tensor& images, Masker& masker, double loss_scale, bool last = false);
    // One update from the accumulated gradients, which it then clears. A non-finite loss or gradient in the
    // window skips the update (weights and optimiser state untouched) and counts it.
    void apply();

private:
    void require_idle() const override;
    // Runs forward and backward on one micro-batch, all-reducing the window's gradients when `last` and
    // distributed; returns its loss (averaged over the ranks when it synchronised).
    double micro_batch(const torch::Tensor& images, Masker& masker, double loss_scale, bool last);
    // The window's update, or its skip when it was not finite (on some rank); clears the window.
    void update_window();
    // step() queued whole on the device and read back once, at its end: the loss and whether it was skipped.
    double step_with_one_read(const torch::Tensor& images, Masker& masker);

    bool synced_ = false;        // the pending window's gradients are already averaged over the ranks
    int64_t pending_ = 0;        // micro-batches accumulated since the last update
    bool window_finite_ = true;  // every micro-batch of the pending window had a finite loss
    HostStaging staging_;        // pinned buffers of the batches copied to CUDA
};

}  // namespace mae
