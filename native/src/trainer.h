// A training step: forward with the masker's noise, backward, one AdamW update.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "adamw.h"
#include "distributed.h"
#include "host_staging.h"
#include "masking.h"
#include "model.h"
#include "step_threads.h"

namespace mae {

// Brings caller images to the model's dtype and device (a no-op, hence zero-copy, when they match)
// after checking their shape against the configuration.
torch::Tensor prepare_images(const mae_config& config, const torch::Device& device, torch::ScalarType dtype,
                             const torch::Tensor& images);
// With `staging`, CPU images bound for CUDA go through its pinned buffers (host_staging.h).
torch::Tensor prepare_images(const MaeModel& model, const torch::Tensor& images, HostStaging* staging = nullptr);

// Sets every trained parameter's gradient to none.
void clear_gradients(std::vector<Param>& params);
void clear_gradients(MaeModel& model);

// 1 (F32 [1] on the loss's device) where the loss or some trained gradient is not finite, else 0: on CUDA
// computed on the device, for AdamW::step_unless, without waiting for it; on the CPU by all_finite.
torch::Tensor non_finite_flag(const torch::Tensor& loss, const std::vector<Param>& params);

// Whether the loss and every gradient are finite: contiguous CPU float/double gradients scanned in one read each
// (finite_loop.h), any others with libtorch's ops and one host synchronisation for all of them.
bool all_finite(const torch::Tensor& loss, const std::vector<Param>& params);

// The trainable parameters' tensors, in order.
std::vector<torch::Tensor> trainable(const std::vector<Param>& params);

// Forward, then backward of loss·loss_scale, adding to the gradients; the caller holds the exclusive lock.
ForwardOutput forward_backward(MaeModel& model, const torch::Tensor& imgs, Masker& masker, double loss_scale = 1.0);
// The same split over `threads` (batch shards, the masks drawn for the whole batch first); returns the batch's
// loss, equal to the unsplit loss up to rounding.
double forward_backward_in_shards(MaeModel& model, const torch::Tensor& imgs, Masker& masker, double loss_scale,
                                  StepThreads& threads);

class Trainer {
public:
    Trainer(std::shared_ptr<MaeModel> model, const mae_adamw_config& cfg);
    // One update from one batch; refused while an accumulation is pending. Undistributed and unsplit, the whole
    // step is queued on the device and read back once, at its end (step_with_one_read): on CUDA the host waits
    // for the device once per step.
    double step(const torch::Tensor& images, Masker& masker);
    // Adds loss_scale · the micro-batch's gradients; returns its (unscaled) loss. `last` marks the window's last
    // micro-batch: with a process group its backward pass all-reduces the gradients as they come.
    double accumulate(const torch::Tensor& images, Masker& masker, double loss_scale, bool last = false);
    // Data parallelism: rank 0's parameters are copied to every rank now, and each update uses the gradients
    // averaged over the group's ranks; losses returned are averaged over the ranks too.
    void set_process_group(std::shared_ptr<ProcessGroup> group, int64_t bucket_bytes);
    // Splits each micro-batch over this many threads (1: no split; ignored on CUDA); see step_threads.h.
    void set_step_threads(int threads);
    // One update from the accumulated gradients, which it then clears. A non-finite loss or gradient in the
    // window skips the update (weights and optimiser state untouched) and counts it.
    void apply();
    int64_t skipped_updates() const { return skipped_; }
    void set_lr(double lr) { optimizer_.set_lr(lr); }
    int64_t step_count() const { return optimizer_.step_count(); }
    void set_step_count(int64_t step) { optimizer_.set_step_count(step); }
    AdamW& optimizer() { return optimizer_; }
    MaeModel& model() { return *model_; }

private:
    // Runs forward and backward on one micro-batch, all-reducing the window's gradients when `last` and
    // distributed; returns its loss (averaged over the ranks when it synchronised).
    double micro_batch(const torch::Tensor& images, Masker& masker, double loss_scale, bool last);
    // The update, or its skip when the window was not finite (on some rank); clears the window. Undistributed,
    // the device checks the gradients and skips the fused update itself; the host then reads that flag.
    void update();
    // step() queued whole on the device and read back once, at its end: the loss and whether it was skipped.
    double step_with_one_read(const torch::Tensor& images, Masker& masker);
    // Whether the device decides on skipping (undistributed, every parameter in the fused kernel).
    bool skips_on_device() const { return !sync_ && optimizer_.fused_everywhere(); }
    // Counts an update that step_unless() queued as applied or skipped, and clears the window.
    void settle(bool skipped);

    std::shared_ptr<MaeModel> model_;
    std::unique_ptr<GradientSync> sync_;  // set when data-parallel
    std::unique_ptr<StepThreads> threads_;  // set when CPU micro-batches are split over threads
    bool synced_ = false;                 // the pending window's gradients are already averaged over the ranks
    AdamW optimizer_;
    int64_t pending_ = 0;  // micro-batches accumulated since the last update
    bool window_finite_ = true;  // every micro-batch of the pending window had a finite loss
    int64_t skipped_ = 0;
    HostStaging staging_;  // pinned buffers of the batches copied to CUDA
};

}  // namespace mae
