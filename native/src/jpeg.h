// JPEG decoding with libjpeg(-turbo) as PIL 9 decodes (the library's defaults: accurate integer IDCT, fancy
// upsampling), so that image folders read the pixels the reference's PIL loader reads. Built where CMake finds
// libjpeg (MAE_WITH_JPEG); elsewhere decode_jpeg throws Unsupported and Java decodes with ImageIO.
#pragma once

#include <torch/torch.h>

namespace mae {

bool jpeg_available();

// file [bytes] U8, a whole JPEG file -> [H, W, C] U8 interleaved: C 3 (R, G, B) for colour files, 1 for grey ones.
// Other colour spaces (CMYK, YCCK) are Unsupported; a corrupt or truncated file is an InvalidArgument naming
// libjpeg's complaint.
torch::Tensor decode_jpeg(const torch::Tensor& file);

}  // namespace mae
