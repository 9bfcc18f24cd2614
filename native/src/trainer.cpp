#include "trainer.h"

#include <cmath>
#include <mutex>

#include "errors.h"
#include "tensors.h"

namespace mae {

torch::Tensor prepare_images(const MaeModel& model, const torch::Tensor& images) {
    return prepare_images(model.config(), model.device(), model.dtype(), images);
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

bool all_finite(const torch::Tensor& loss, const std::vector<Param>& params) {
    torch::NoGradGuard no_grad;
    auto ok = torch::isfinite(loss).all();
    for (const auto& p : params) {
        const auto& g = p.value.grad();
        if (g.defined()) ok = ok.logical_and(torch::isfinite(g).all());
    }
    return ok.item<bool>();
}

ForwardOutput forward_backward(MaeModel& model, const torch::Tensor& imgs, Masker& masker, double loss_scale) {
    auto noise = masker.noise(imgs.size(0), model.num_patches(), model.device());
    auto out = model.forward(imgs, noise, masker.mask_ratio());
    (loss_scale == 1.0 ? out.loss : out.loss * loss_scale).backward();
    return out;
}

Trainer::Trainer(std::shared_ptr<MaeModel> model, const mae_adamw_config& cfg)
    : model_(std::move(model)), optimizer_(model_->params(), cfg) {}

double Trainer::step(const torch::Tensor& images, Masker& masker) {
    std::unique_lock<std::shared_mutex> lock(model_->lock());
    if (pending_ != 0)
        throw InvalidState("an accumulation of " + std::to_string(pending_) + " micro-batches is pending: apply it first");
    auto imgs = prepare_images(*model_, images);
    clear_gradients(*model_);
    auto out = forward_backward(*model_, imgs, masker);
    if (all_finite(out.loss, model_->params())) optimizer_.step();
    else {
        optimizer_.skip();
        ++skipped_;
    }  // a NaN or Inf would poison the weights and AdamW's moments for good
    clear_gradients(*model_);
    return out.loss.item<double>();
}

double Trainer::accumulate(const torch::Tensor& images, Masker& masker, double loss_scale) {
    require(std::isfinite(loss_scale) && loss_scale > 0, "loss_scale must be finite and > 0, got " +
                                                             std::to_string(loss_scale));
    std::unique_lock<std::shared_mutex> lock(model_->lock());
    auto imgs = prepare_images(*model_, images);
    if (pending_ == 0) clear_gradients(*model_);
    auto out = forward_backward(*model_, imgs, masker, loss_scale);
    if (pending_ == 0) window_finite_ = true;
    ++pending_;
    const double loss = out.loss.item<double>();
    if (!std::isfinite(loss)) window_finite_ = false;
    return loss;
}

void Trainer::apply() {
    std::unique_lock<std::shared_mutex> lock(model_->lock());
    if (pending_ == 0) throw InvalidState("nothing accumulated since the last update");
    torch::Tensor no_loss = torch::zeros({});
    if (window_finite_ && all_finite(no_loss, model_->params())) optimizer_.step();
    else {
        optimizer_.skip();
        ++skipped_;
    }
    clear_gradients(*model_);
    pending_ = 0;
}

}  // namespace mae
