// PIL's bicubic resize (Image.resize of Pillow 9, Resample.c): the crop-and-resize of
// torchvision's RandomResizedCrop and the Resize of the reference's evaluation transform, on one decoded image.
#pragma once

#include <torch/torch.h>

namespace mae {

// torchvision's F.resized_crop on a PIL image, bicubic: image.crop(box).resize((width, height), BICUBIC).
// image [H, W, C] U8 (interleaved, as decoders give it; the channel order is kept), crop [4] F64: top, left,
// height, width in whole source pixels -> [C, height, width] U8, planar, its columns mirrored when flip is set.
torch::Tensor resized_crop(const torch::Tensor& image, const torch::Tensor& crop, int64_t height, int64_t width,
                           bool flip);

}  // namespace mae
