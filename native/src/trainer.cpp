#include "trainer.h"

#include <mutex>

#include "errors.h"
#include "tensors.h"

namespace mae {

torch::Tensor prepare_images(const MaeModel& model, const torch::Tensor& images) {
    const auto& c = model.config();
    const std::vector<int64_t> expected{images.dim() > 0 ? images.size(0) : 0, c.in_chans, c.img_size, c.img_size};
    require(images.dim() == 4 && images.sizes().slice(1).equals(c10::IntArrayRef(expected).slice(1)),
            "images must be [N, " + std::to_string(c.in_chans) + ", " + std::to_string(c.img_size) + ", " +
                std::to_string(c.img_size) + "], got " + shape_string(images.sizes()));
    require(images.scalar_type() == torch::kFloat32 || images.scalar_type() == torch::kFloat64,
            std::string("images must be F32 or F64, got ") + c10::toString(images.scalar_type()));
    return images.to(model.device(), model.dtype());
}

ForwardOutput forward_backward(MaeModel& model, const torch::Tensor& imgs, Masker& masker) {
    for (auto& p : model.params())
        if (p.trainable) p.value.mutable_grad() = torch::Tensor();  // set_to_none
    auto noise = masker.noise(imgs.size(0), model.num_patches(), model.device());
    auto out = model.forward(imgs, noise, masker.mask_ratio());
    out.loss.backward();
    return out;
}

Trainer::Trainer(std::shared_ptr<MaeModel> model, const mae_adamw_config& cfg)
    : model_(std::move(model)), optimizer_(model_->params(), cfg) {}

double Trainer::step(const torch::Tensor& images, Masker& masker) {
    std::unique_lock<std::shared_mutex> lock(model_->lock());
    auto imgs = prepare_images(*model_, images);
    auto out = forward_backward(*model_, imgs, masker);
    optimizer_.step();
    return out.loss.item<double>();
}

}  // namespace mae
