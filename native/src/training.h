// What pretraining (Trainer) and fine-tuning (FineTuner) share: the model's lock, AdamW,
// the skip of non-finite updates, step threads, data parallelism, and the optimiser state checkpoints hold.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "adamw.h"
#include "batches.h"
#include "distributed.h"
#include "mae.h"
#include "model.h"
#include "step_threads.h"

namespace mae {

// Whether the loss and every gradient are finite: contiguous CPU float/double gradients scanned in one read each
// (finite_loop.h), any others with libtorch's ops and one host synchronisation for all of them.
bool all_finite(const torch::Tensor& loss, const std::vector<Param>& params);

// 1 (F32 [1] on the loss's device) where the loss or some trained gradient is not finite, else 0: on CUDA
// computed on the device, for AdamW::step_unless, without waiting for it; on the CPU by all_finite.
torch::Tensor non_finite_flag(const torch::Tensor& loss, const std::vector<Param>& params);

// The trainable parameters' tensors, in order.
std::vector<torch::Tensor> trainable(const std::vector<Param>& params);

// What a training offers whatever it trains: the C ABI's mae_training reaches a Trainer or a FineTuner through it.
class AnyTraining {
public:
    virtual ~AnyTraining() = default;
    virtual void set_lr(double lr) = 0;
    virtual int64_t step_count() const = 0;
    virtual void set_step_count(int64_t step) = 0;
    // Updates skipped because a loss or gradient was not finite: weights and optimiser state stayed as they were.
    virtual int64_t skipped_updates() const = 0;
    // Splits each batch over this many threads (1: no split; ignored on CUDA); see step_threads.h.
    virtual void set_step_threads(int threads) = 0;
    // The shards the last forward and backward pass cut its batch into: 1 when it was not split, 0 before any.
    virtual int last_step_shards() const = 0;
    // Data parallelism: rank 0's parameters are copied to every rank now, and each update uses the gradients
    // averaged over the group's ranks; losses returned are averaged over the ranks too.
    virtual void set_process_group(std::shared_ptr<ProcessGroup> group, int64_t bucket_bytes) = 0;
    // The optimiser state for checkpoints (AdamW::state_names): its names, a copy of one, and its overwrite
    // (shape and F32/F64 checked; "step" a whole number >= 0).
    virtual const std::vector<std::string>& state_names() const = 0;
    virtual const std::string& state_name(int64_t index) const = 0;
    virtual torch::Tensor state_copy(const std::string& name) = 0;
    virtual void state_set(const std::string& name, const torch::Tensor& value) = 0;
    virtual AdamW& optimizer() = 0;
};

// The optimisation of one network (MaeModel or VitClassifier: params(), lock(), device()); its subclasses add the
// loss. Methods that read or change state take the network's lock themselves.
template <class Net>
class Training : public AnyTraining {
public:
    void set_lr(double lr) override;
    int64_t step_count() const override { return optimizer_.step_count(); }
    void set_step_count(int64_t step) override;
    int64_t skipped_updates() const override { return skipped_; }
    void set_step_threads(int threads) override;
    int last_step_shards() const override { return last_shards_; }
    void set_process_group(std::shared_ptr<ProcessGroup> group, int64_t bucket_bytes) override;
    const std::vector<std::string>& state_names() const override { return optimizer_.state_names(); }
    const std::string& state_name(int64_t index) const override;
    torch::Tensor state_copy(const std::string& name) override;
    void state_set(const std::string& name, const torch::Tensor& value) override;
    AdamW& optimizer() override { return optimizer_; }
    Net& model() { return *model_; }

protected:
    Training(std::shared_ptr<Net> model, const mae_adamw_config& cfg, const GroupRule& group);
    // Throws InvalidState when the threads or the group may not change now (an accumulation pending).
    virtual void require_idle() const {}
    // The update from the gradients the parameters hold, or its skip (counted) when `finite` is false or some
    // gradient is not finite; then clears the gradients. Undistributed, the device decides and skips the fused
    // update itself; the host then reads its flag.
    void update(bool finite);
    // Counts an update that AdamW::step_unless queued as applied or skipped, and clears the gradients.
    void settle(bool skipped);
    // The shards a batch of n images is cut into (1 without step threads, or for one image); records it for
    // last_step_shards().
    int shard_batch(int64_t n) {
        // as many as shard_sizes(n, threads) makes: one per thread, at most one per image
        last_shards_ = threads_ && n > 1 ? static_cast<int>(std::min<int64_t>(n, threads_->size())) : 1;
        return last_shards_;
    }
    // Whether the device decides on skipping (undistributed, every parameter in the fused kernel).
    bool skips_on_device() const { return !sync_ && optimizer_.fused_everywhere(); }

    std::shared_ptr<Net> model_;
    AdamW optimizer_;
    std::unique_ptr<GradientSync> sync_;    // set when data-parallel
    std::unique_ptr<StepThreads> threads_;  // set when CPU batches are split over threads
    int64_t skipped_ = 0;
    int last_shards_ = 0;  // of the last forward and backward pass
};

}  // namespace mae
