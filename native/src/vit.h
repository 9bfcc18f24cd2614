// The ViT pieces the MAE model and the fine-tuning classifier share: parameters, the pre-norm block
// (timm's Block, as the reference uses it) and stochastic depth.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace mae {

struct Param {
    std::string name;
    torch::Tensor value;
    bool trainable;  // false for the fixed position tables
};

// The first parameter named `name`; throws InvalidArgument for an unknown name.
const Param& find_param(const std::vector<Param>& params, const std::string& name);

// Registers one block's parameters under `prefix` ("blocks.3.") in timm's order.
void add_block_params(std::vector<Param>& params, const std::string& prefix, int64_t dim, double mlp_ratio,
                      const torch::TensorOptions& opts);

struct Block {
    torch::Tensor norm1_w, norm1_b, qkv_w, qkv_b, proj_w, proj_b;
    torch::Tensor norm2_w, norm2_b, fc1_w, fc1_b, fc2_w, fc2_b;
    int64_t num_heads;
    double eps;              // of both LayerNorms
    double drop_path = 0.0;  // stochastic-depth probability while training
};

// Binds the tensors registered by add_block_params (they share storage with `params`).
Block bind_block(const std::vector<Param>& params, const std::string& prefix, int64_t num_heads, double eps);

// LayerNorm over the last dimension (timm's eps is 1e-6, Hugging Face's ViTMAE's 1e-12).
torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, double eps);

// timm's drop_path for one block while training: per-sample factors [N, 1, 1] for each residual branch, 0 with
// probability b.drop_path and 1/keep otherwise; undefined when the block drops nothing.
struct DropPath {
    torch::Tensor attn, mlp;
    DropPath narrow(int64_t first, int64_t rows) const;  // the factors of rows [first, first + rows)
};

// Draws a block's factors for n samples from `gen` (attn's, then mlp's), in `dtype` on `device`.
DropPath draw_drop_path(const Block& b, int64_t n, torch::ScalarType dtype, const torch::Device& device,
                        at::Generator& gen);

// x + drop_path(attn(norm1(x))), then x + drop_path(mlp(norm2(x))); `drop` null means evaluation (nothing dropped).
// The products run in the dtype of b's linear weights (bfloat16 copies: an inference encoder's bf16 mode), the
// residual stream and the LayerNorms in x's, as autocast does.
torch::Tensor block_forward(const Block& b, const torch::Tensor& x, const DropPath* drop = nullptr);

}  // namespace mae
