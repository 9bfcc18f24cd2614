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

// x + drop_path(attn(norm1(x))), then x + drop_path(mlp(norm2(x))). `gen` non-null means training:
// each sample's residual branch is dropped with probability b.drop_path and the rest scaled by 1/keep.
torch::Tensor block_forward(const Block& b, const torch::Tensor& x, at::Generator* gen = nullptr);

}  // namespace mae
