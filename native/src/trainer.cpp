#include "trainer.h"

#include <cmath>
#include <mutex>
#include <numeric>

#include "errors.h"
#include "tensors.h"

namespace mae {

torch::Tensor prepare_images(const MaeModel& model, const torch::Tensor& images, HostStaging* staging) {
    if (staging == nullptr || !model.device().is_cuda() || !images.device().is_cpu())
        return prepare_images(model.config(), model.device(), model.dtype(), images);
    // The checks alone (a CPU tensor stays where it is), then the copy through the pinned buffers.
    prepare_images(model.config(), images.device(), images.scalar_type(), images);
    return staging->to_device(images, model.device(), model.dtype());
}

void clear_gradients(MaeModel& model) { clear_gradients(model.params()); }

double forward_backward_in_shards(MaeModel& model, const torch::Tensor& imgs, Masker& masker, double loss_scale,
                                  StepThreads& threads) {
    const int64_t n = imgs.size(0);
    auto noise = masker.noise(n, model.num_patches(), model.device());
    // Every image removes the same number of patches, so the batch loss is the shards' losses weighted by rows.
    auto losses =
        backward_in_shards(threads, n, trainable(model.params()), loss_scale, [&](int, int64_t first, int64_t rows) {
            auto out = model.forward(imgs.narrow(0, first, rows), noise.narrow(0, first, rows), masker.mask_ratio());
            return out.loss * (static_cast<double>(rows) / n);
        });
    return std::accumulate(losses.begin(), losses.end(), 0.0);
}

Trainer::Trainer(std::shared_ptr<MaeModel> model, const mae_adamw_config& cfg)
    : Training<MaeModel>(std::move(model), cfg, pretrain_group) {}

void Trainer::require_idle() const {
    if (pending_ != 0) throw InvalidState("micro-batches are accumulated: apply them first");
}

double Trainer::step(const torch::Tensor& images, Masker& masker) {
    std::unique_lock<std::shared_mutex> lock(model_->lock());
    if (pending_ != 0)
        throw InvalidState("an accumulation of " + std::to_string(pending_) +
                           " micro-batches is pending: apply it first");
    if (!threads_ && skips_on_device()) return step_with_one_read(images, masker);
    const double loss = micro_batch(images, masker, 1.0, true);
    update_window();
    return loss;
}

double Trainer::step_with_one_read(const torch::Tensor& images, Masker& masker) {
    auto imgs = prepare_images(*model_, images, &staging_);
    shard_batch(imgs.size(0));  // no step threads here: 1
    clear_gradients(*model_);
    const auto loss = forward_backward(*model_, imgs, masker).loss.detach();
    const auto found_inf = non_finite_flag(loss, model_->params());
    optimizer_.step_unless(found_inf);
    // The step's one wait for the device.
    const auto read =
        torch::stack({loss.to(torch::kDouble).reshape({}), found_inf.to(torch::kDouble).reshape({})}).to(torch::kCPU);
    settle(read[1].item<double>() != 0);
    return read[0].item<double>();
}

double Trainer::accumulate(const torch::Tensor& images, Masker& masker, double loss_scale, bool last) {
    require(std::isfinite(loss_scale) && loss_scale > 0,
            "loss_scale must be finite and > 0, got " + std::to_string(loss_scale));
    std::unique_lock<std::shared_mutex> lock(model_->lock());
    if (synced_) throw InvalidState("the window's last micro-batch was already accumulated: apply it first");
    return micro_batch(images, masker, loss_scale, last);
}

double Trainer::micro_batch(const torch::Tensor& images, Masker& masker, double loss_scale, bool last) {
    auto imgs = prepare_images(*model_, images, &staging_);
    if (pending_ == 0) {
        clear_gradients(*model_);
        window_finite_ = true;
    }
    const bool sync = sync_ && last;
    const bool split = shard_batch(imgs.size(0)) > 1;
    if (sync && !split) sync_->arm();  // split shards hand their gradients over at the end: all-reduce after
    double loss = split ? forward_backward_in_shards(*model_, imgs, masker, loss_scale, *threads_)
                        : forward_backward(*model_, imgs, masker, loss_scale).loss.item<double>();
    ++pending_;
    if (!std::isfinite(loss)) window_finite_ = false;
    if (sync) {
        // A window that was not finite on one rank is not finite on any: its NaN reaches every rank's mean.
        const double mean = sync_->finish(window_finite_ ? loss : std::nan(""));
        if (!std::isfinite(mean)) window_finite_ = false;
        loss = window_finite_ ? mean : loss;
        synced_ = true;
    }
    return loss;
}

void Trainer::apply() {
    std::unique_lock<std::shared_mutex> lock(model_->lock());
    if (pending_ == 0) throw InvalidState("nothing accumulated since the last update");
    if (sync_ && !synced_ && !std::isfinite(sync_->finish(window_finite_ ? 0.0 : std::nan(""))))
        window_finite_ = false;  // accumulated without a last micro-batch: all-reduce now, after the fact
    update_window();
}

void Trainer::update_window() {
    update(window_finite_);
    pending_ = 0;
    synced_ = false;
}

}  // namespace mae
