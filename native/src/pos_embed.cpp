#include "pos_embed.h"

#include "errors.h"

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
    require(embed_dim % 4 == 0, "embed_dim must be a multiple of 4 for 2-D sine-cosine embeddings, got " +
                                    std::to_string(embed_dim));
    auto opts = torch::TensorOptions().dtype(torch::kFloat64);
    auto coords = torch::arange(grid_size, opts);
    // Token t = i·grid + j: column j = t mod grid, row i = t div grid.
    auto col = coords.repeat({grid_size});                     // j for every token
    auto row = coords.repeat_interleave(grid_size);            // i for every token
    auto emb = torch::cat({sincos_1d(embed_dim / 2, col), sincos_1d(embed_dim / 2, row)}, 1);
    return torch::cat({torch::zeros({1, embed_dim}, opts), emb}, 0);
}

}  // namespace mae
