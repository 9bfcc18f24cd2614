// Batched RandomResizedCrop + horizontal flip: one affine sampling grid per image, one grid_sample call.
#pragma once

#include <torch/torch.h>

namespace mae {

// images [N, C, H, W]; boxes [N, 5] (top, left, height, width, flip) in source pixels; -> [N, C, size, size].
// Pixel centres map to pixel centres, so a crop of size × size without flip copies exactly; samples beyond the
// box's outer pixel centres take the edge value, as when the crop is cut out first and then resized.
torch::Tensor resized_crops(const torch::Tensor& images, const torch::Tensor& boxes, int64_t size);

// images [N, C, H, W] F32; boxes [N, 4] (top, left, height, width) in pixels, a zero height or width leaving that
// image as it is -> a copy whose boxes hold fresh N(0, 1) values, one per pixel and channel, from a generator
// seeded with seed: timm's RandomErasing in 'pixel' mode, as the reference's fine-tuning applies it to normalised
// images.
torch::Tensor erase_boxes(const torch::Tensor& images, const torch::Tensor& boxes, uint64_t seed);

// timm's Mixup in 'batch' mode, each image paired with its mirror in the batch (image N − 1 − i):
// images [N, C, H, W] F32 -> lam · images + (1 − lam) · images.flip(0).
torch::Tensor mixup(const torch::Tensor& images, double lam);

// timm's CutMix in 'batch' mode: a copy of images [N, C, H, W] F32 in which rows [top, top + height) and columns
// [left, left + width) of image i come from image N − 1 − i.
torch::Tensor cutmix(const torch::Tensor& images, int64_t top, int64_t left, int64_t height, int64_t width);

// images [M, C, H, W] U8, indices [N] I64, mean and std [C] -> [N, C, H, W] F32 (pixel / 255 − mean) / std.
torch::Tensor gather_normalize(const torch::Tensor& images, const torch::Tensor& indices, const torch::Tensor& mean,
                               const torch::Tensor& std);

}  // namespace mae
