#include "trainer.h"

#include <cmath>
#include <mutex>
#include <numeric>
#include <optional>

#include "errors.h"
#include "finite_loop.h"
#include "tensors.h"

namespace mae {

torch::Tensor prepare_images(const MaeModel& model, const torch::Tensor& images, HostStaging* staging) {
    if (staging == nullptr || !model.device().is_cuda() || !images.device().is_cpu())
        return prepare_images(model.config(), model.device(), model.dtype(), images);
    // The checks alone (a CPU tensor stays where it is), then the copy through the pinned buffers.
    prepare_images(model.config(), images.device(), images.scalar_type(), images);
    return staging->to_device(images, model.device(), model.dtype());
}

torch::Tensor prepare_images(const mae_config& c, const torch::Device& device, torch::ScalarType dtype,
                             const torch::Tensor& images) {
    const std::vector<int64_t> expected{images.dim() > 0 ? images.size(0) : 0, c.in_chans, c.img_size, c.img_size};
    require(images.dim() == 4 && images.sizes().slice(1).equals(c10::IntArrayRef(expected).slice(1)),
            "images must be [N, " + std::to_string(c.in_chans) + ", " + std::to_string(c.img_size) + ", " +
                std::to_string(c.img_size) + "], got " + shape_string(images.sizes()));
    require(images.scalar_type() == torch::kFloat32 || images.scalar_type() == torch::kFloat64,
            std::string("images must be F32 or F64, got ") + c10::toString(images.scalar_type()));
    return images.to(device, dtype);
}

void clear_gradients(std::vector<Param>& params) {
    for (auto& p : params)
        if (p.trainable) p.value.mutable_grad() = torch::Tensor();  // set_to_none
}

void clear_gradients(MaeModel& model) { clear_gradients(model.params()); }

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
    // _foreach_norm(inf) is slow: 21 ms for tiny224's 6.4 M gradients on one thread (PyTorch 2.13).
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

ForwardOutput forward_backward(MaeModel& model, const torch::Tensor& imgs, Masker& masker, double loss_scale) {
    auto noise = masker.noise(imgs.size(0), model.num_patches(), model.device());
    auto out = model.forward(imgs, noise, masker.mask_ratio());
    (loss_scale == 1.0 ? out.loss : out.loss * loss_scale).backward();
    return out;
}

double forward_backward_in_shards(MaeModel& model, const torch::Tensor& imgs, Masker& masker, double loss_scale,
                                  StepThreads& threads) {
    const int64_t n = imgs.size(0);
    auto noise = masker.noise(n, model.num_patches(), model.device());
    // Every image removes the same number of patches, so the batch loss is the shards' losses weighted by rows.
    auto losses = backward_in_shards(threads, n, trainable(model.params()), loss_scale,
                                     [&](int, int64_t first, int64_t rows) {
                                         auto out = model.forward(imgs.narrow(0, first, rows),
                                                                  noise.narrow(0, first, rows), masker.mask_ratio());
                                         return out.loss * (static_cast<double>(rows) / n);
                                     });
    return std::accumulate(losses.begin(), losses.end(), 0.0);
}

Trainer::Trainer(std::shared_ptr<MaeModel> model, const mae_adamw_config& cfg)
    : model_(std::move(model)), optimizer_(model_->params(), cfg) {}

double Trainer::step(const torch::Tensor& images, Masker& masker) {
    std::unique_lock<std::shared_mutex> lock(model_->lock());
    if (pending_ != 0)
        throw InvalidState("an accumulation of " + std::to_string(pending_) + " micro-batches is pending: apply it first");
    if (!threads_ && skips_on_device()) return step_with_one_read(images, masker);
    const double loss = micro_batch(images, masker, 1.0, true);
    update();
    return loss;
}

double Trainer::step_with_one_read(const torch::Tensor& images, Masker& masker) {
    auto imgs = prepare_images(*model_, images, &staging_);
    clear_gradients(*model_);
    const auto loss = forward_backward(*model_, imgs, masker).loss.detach();
    const auto found_inf = non_finite_flag(loss, model_->params());
    optimizer_.step_unless(found_inf);
    // The step's one wait for the device.
    const auto read = torch::stack({loss.to(torch::kDouble).reshape({}), found_inf.to(torch::kDouble).reshape({})})
                          .to(torch::kCPU);
    settle(read[1].item<double>() != 0);
    return read[0].item<double>();
}

void Trainer::settle(bool skipped) {
    optimizer_.settle(skipped);
    if (skipped) ++skipped_;
    clear_gradients(*model_);
    pending_ = 0;
    synced_ = false;
}

double Trainer::accumulate(const torch::Tensor& images, Masker& masker, double loss_scale, bool last) {
    require(std::isfinite(loss_scale) && loss_scale > 0, "loss_scale must be finite and > 0, got " +
                                                             std::to_string(loss_scale));
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
    const bool split = threads_ && imgs.size(0) > 1;
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
    update();
}

void Trainer::update() {
    if (skips_on_device()) {
        const auto window = torch::full({}, window_finite_ ? 0.0 : NAN, torch::TensorOptions().device(model_->device()));
        const auto found_inf = non_finite_flag(window, model_->params());
        optimizer_.step_unless(found_inf, threads_.get());
        settle(found_inf.item<float>() != 0);
        return;
    }
    // A NaN or Inf would poison the weights and AdamW's moments for good: skip the update instead, and count it.
    if (window_finite_ && all_finite(torch::zeros({}), model_->params())) optimizer_.step(threads_.get());
    else {
        optimizer_.skip();
        ++skipped_;
    }
    clear_gradients(*model_);
    pending_ = 0;
    synced_ = false;
}

void Trainer::set_step_threads(int threads) {
    std::unique_lock<std::shared_mutex> lock(model_->lock());
    require(threads >= 1, "step threads must be >= 1, got " + std::to_string(threads));
    if (pending_ != 0) throw InvalidState("micro-batches are accumulated: apply them first");
    // On CUDA one stream does the work: nothing to split.
    threads_ = threads == 1 || !model_->device().is_cpu() ? nullptr : std::make_unique<StepThreads>(threads);
}

void Trainer::set_process_group(std::shared_ptr<ProcessGroup> group, int64_t bucket_bytes) {
    std::unique_lock<std::shared_mutex> lock(model_->lock());
    if (pending_ != 0) throw InvalidState("micro-batches are accumulated: apply them first");
    sync_ = GradientSync::join(std::move(group), model_->params(), bucket_bytes);
}

}  // namespace mae
