#include "batches.h"

#include <string>

#include "errors.h"
#include "tensors.h"

namespace mae {

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

void check_labels(const torch::Tensor& labels, int64_t n, int64_t num_classes) {
    require(labels.scalar_type() == torch::kInt64, "labels must be I64");
    require(labels.dim() == 1 && labels.size(0) == n,
            "labels must be [" + std::to_string(n) + "], got " + shape_string(labels.sizes()));
    const auto lo = labels.min().item<int64_t>(), hi = labels.max().item<int64_t>();
    require(lo >= 0 && hi < num_classes, "labels must be in [0, " + std::to_string(num_classes) +
                                             "), got values from " + std::to_string(lo) + " to " + std::to_string(hi));
}

void check_targets(const torch::Tensor& targets, int64_t n, int64_t num_classes) {
    require(targets.scalar_type() == torch::kFloat32 || targets.scalar_type() == torch::kFloat64,
            "targets must be F32 or F64");
    require(targets.dim() == 2 && targets.size(0) == n && targets.size(1) == num_classes,
            "targets must be [" + std::to_string(n) + ", " + std::to_string(num_classes) + "], got " +
                shape_string(targets.sizes()));
    auto t = targets.to(torch::kFloat64);
    require(torch::isfinite(t).all().item<bool>() && (t >= 0).all().item<bool>(),
            "targets must be finite and non-negative");
    const auto worst = (t.sum(-1) - 1).abs().max().item<double>();
    require(worst <= 1e-4, "each row of targets must sum to 1, one is off by " + std::to_string(worst));
}

void clear_gradients(std::vector<Param>& params) {
    for (auto& p : params)
        if (p.trainable) p.value.mutable_grad() = torch::Tensor();  // set_to_none
}

}  // namespace mae
