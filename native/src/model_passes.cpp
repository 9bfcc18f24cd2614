// The passes callers run on an MAE model (the C ABI's forward and encode): each takes the model's lock itself,
// shared for evaluation and exclusive where gradients are written, and brings the caller's images to the model's
// dtype and device.
#include <mutex>
#include <shared_mutex>

#include "batches.h"
#include "masking.h"
#include "model.h"

namespace mae {

ForwardOutput forward_backward(MaeModel& model, const torch::Tensor& imgs, Masker& masker, double loss_scale) {
    auto noise = masker.noise(imgs.size(0), model.num_patches(), model.device());
    auto out = model.forward(imgs, noise, masker.mask_ratio());
    (loss_scale == 1.0 ? out.loss : out.loss * loss_scale).backward();
    return out;
}

ForwardOutput MaeModel::run(const torch::Tensor& images, Masker& masker, bool backward,
                            std::atomic<uint64_t>& input_address) {
    if (backward) {
        std::unique_lock<std::shared_mutex> lock(lock_);
        auto imgs = prepare_images(cfg_, device_, dtype(), images);
        input_address = reinterpret_cast<uint64_t>(imgs.data_ptr());
        clear_gradients(params_);
        return forward_backward(*this, imgs, masker);
    }
    std::shared_lock<std::shared_mutex> lock(lock_);
    c10::InferenceMode inference;  // no autograd bookkeeping at all
    auto imgs = prepare_images(cfg_, device_, dtype(), images);
    input_address = reinterpret_cast<uint64_t>(imgs.data_ptr());
    auto noise = masker.noise(imgs.size(0), num_patches(), device_);
    return forward(imgs, noise, masker.mask_ratio());
}

torch::Tensor MaeModel::run_encoder(const torch::Tensor& images, std::atomic<uint64_t>& input_address) const {
    std::shared_lock<std::shared_mutex> lock(lock_);
    c10::InferenceMode inference;
    auto imgs = prepare_images(cfg_, device_, dtype(), images);
    input_address = reinterpret_cast<uint64_t>(imgs.data_ptr());
    return encode(imgs);
}

}  // namespace mae
