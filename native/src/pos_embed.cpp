#include "pos_embed.h"

#include <cmath>

#include "errors.h"
#include "tensors.h"

namespace mae {

namespace {

// [M, D]: for each position, sin(pos·ω_k) for k < D/2 then cos(pos·ω_k), ω_k = 10000^(−k/(D/2)).
torch::Tensor sincos_1d(int64_t dim, const torch::Tensor& pos) {
    auto opts = torch::TensorOptions().dtype(torch::kFloat64);
    auto omega = torch::arange(dim / 2, opts) / (dim / 2.0);
    omega = 1.0 / torch::pow(10000.0, omega);           // [D/2]
    auto out = torch::outer(pos.reshape({-1}), omega);  // [M, D/2]
    return torch::cat({torch::sin(out), torch::cos(out)}, 1);
}

}  // namespace

torch::Tensor sincos_pos_embed_2d(int64_t embed_dim, int64_t grid_size) {
    require(embed_dim % 4 == 0,
            "embed_dim must be a multiple of 4 for 2-D sine-cosine embeddings, got " + std::to_string(embed_dim));
    auto opts = torch::TensorOptions().dtype(torch::kFloat64);
    auto coords = torch::arange(grid_size, opts);
    // Token t = i·grid + j: column j = t mod grid, row i = t div grid.
    auto col = coords.repeat({grid_size});           // j for every token
    auto row = coords.repeat_interleave(grid_size);  // i for every token
    auto emb = torch::cat({sincos_1d(embed_dim / 2, col), sincos_1d(embed_dim / 2, row)}, 1);
    return torch::cat({torch::zeros({1, embed_dim}, opts), emb}, 0);
}

torch::Tensor resize_pos_embed(const torch::Tensor& pos_embed, int64_t new_grid) {
    require(new_grid >= 1, "new_grid must be >= 1, got " + std::to_string(new_grid));
    require(pos_embed.dim() == 3 && pos_embed.size(0) == 1 && pos_embed.size(1) >= 2,
            "pos_embed must be [1, 1 + g², D], got " + shape_string(pos_embed.sizes()));
    require(pos_embed.is_floating_point(), "pos_embed must be F32 or F64");
    const int64_t tokens = pos_embed.size(1) - 1, dim = pos_embed.size(2);
    const auto grid = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(tokens))));
    require(grid * grid == tokens, "pos_embed has " + std::to_string(tokens) + " patch rows, not a square grid");
    auto extra = pos_embed.narrow(1, 0, 1);
    auto pos_tokens = pos_embed.narrow(1, 1, tokens).reshape({-1, grid, grid, dim}).permute({0, 3, 1, 2});
    namespace F = torch::nn::functional;
    pos_tokens = F::interpolate(pos_tokens, F::InterpolateFuncOptions()
                                                .size(std::vector<int64_t>{new_grid, new_grid})
                                                .mode(torch::kBicubic)
                                                .align_corners(false));
    pos_tokens = pos_tokens.permute({0, 2, 3, 1}).flatten(1, 2);
    return torch::cat({extra, pos_tokens}, 1);
}

}  // namespace mae
