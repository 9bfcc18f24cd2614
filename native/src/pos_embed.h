// Fixed 2-D sine-cosine position embeddings, as the reference util/pos_embed.py computes them.
#pragma once

#include <torch/torch.h>

namespace mae {

// [1 + grid_size², embed_dim] in float64, row 0 (the [CLS] slot) zero. For the patch at grid row i,
// column j (token 1 + i·grid_size + j) the first half of the channels encodes j and the second half i,
// because the reference's meshgrid puts the width first.
torch::Tensor sincos_pos_embed_2d(int64_t embed_dim, int64_t grid_size);

// util/pos_embed.py interpolate_pos_embed: pos_embed [1, 1 + g², D] -> [1, 1 + new_grid², D], the [CLS] row
// kept and the g × g grid resized bicubically (align_corners false).
torch::Tensor resize_pos_embed(const torch::Tensor& pos_embed, int64_t new_grid);

}  // namespace mae
