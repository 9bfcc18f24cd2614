// RandAugment's image operations (timm's rand_augment_transform) with PIL's integer and float arithmetic, applied
// per image from a plan drawn in Java (dev.mae4j.data.RandAugment): the images timm + PIL would give for the same
// draws.
#pragma once

#include <torch/torch.h>

namespace mae {

// A plan step: an MAE_RA_* code of mae.h and six arguments.
constexpr int64_t RA_COLUMNS = 7;

// images [N, C, H, W] F32 normalised ((pixel / 255 − mean) / std, mean and std [C]; C 1 or 3), plan [N, K · 7] F64
// (K steps per image, applied in order) -> [N, C, H, W] F32: each image rounded to U8 pixels as the PIL images of
// timm's pipeline are, augmented, normalised again. Affine steps bring in round(255 · mean) (timm's img_mean).
torch::Tensor rand_augment(const torch::Tensor& images, const torch::Tensor& plan, const torch::Tensor& mean,
                           const torch::Tensor& std);

}  // namespace mae
