#include "encoder.h"

#include <algorithm>

#include "batches.h"
#include "errors.h"
#include "model.h"
#include "pos_embed.h"
#include "products.h"

namespace mae {

VitEncoder::VitEncoder(const mae_config& cfg, torch::Device device, Tail tail)
    : cfg_(cfg), device_(device), tail_(tail) {
    validate_config(cfg);
    const int64_t d = cfg.embed_dim, p = cfg.patch_size, c = cfg.in_chans, grid = cfg.img_size / p;
    auto opts = torch::TensorOptions().dtype(cfg.dtype == MAE_DTYPE_F64 ? torch::kFloat64 : torch::kFloat32);
    auto add = [&](const std::string& name, std::vector<int64_t> shape, bool trainable = true) {
        params_.push_back({name, torch::zeros(shape, opts), trainable});
    };
    // the reference state_dict's order and names, MAE's or models_vit's
    add("cls_token", {1, 1, d});
    add("pos_embed", {1, grid * grid + 1, d}, /*trainable=*/tail == Tail::PooledFcNorm);  // learned once fine-tuned
    add("patch_embed.proj.weight", {d, c, p, p});
    add("patch_embed.proj.bias", {d});
    const size_t blocks_from = params_.size();
    for (int32_t i = 0; i < cfg.depth; ++i)
        add_block_params(params_, "blocks." + std::to_string(i) + ".", d, cfg.mlp_ratio, opts);
    for (size_t i = blocks_from; i < params_.size(); ++i) params_[i].value.zero_();
    const std::string norm = tail == Tail::Norm ? "norm." : "fc_norm.";
    add(norm + "weight", {d});
    add(norm + "bias", {d});
    {
        torch::NoGradGuard no_grad;
        if (tail == Tail::Norm) params_[1].value.copy_(sincos_pos_embed_2d(d, grid).unsqueeze(0));
    }
    for (auto& prm : params_) prm.value = prm.value.to(device_);
    auto get = [this](const std::string& name) { return find_param(params_, name).value; };
    cls_token_ = get("cls_token");
    pos_embed_ = get("pos_embed");
    patch_w_ = get("patch_embed.proj.weight");
    patch_b_ = get("patch_embed.proj.bias");
    norm_w_ = get(norm + "weight");
    norm_b_ = get(norm + "bias");
    for (int32_t i = 0; i < cfg.depth; ++i)
        blocks_.push_back(bind_block(params_, "blocks." + std::to_string(i) + ".", cfg.num_heads, cfg.layer_norm_eps));
}

void VitEncoder::set_bf16(bool on) {
    require(!on || (device_.is_cpu() ? at::globalContext().userEnabledMkldnn() : true),
            "bfloat16 inference needs oneDNN, which this LibTorch lacks");
    require(!on || cfg_.dtype != MAE_DTYPE_F64, "bfloat16 inference of a float64 encoder is not supported");
    bf16_ = on;
}

int64_t VitEncoder::tokens_per_image() const {
    const int64_t grid = cfg_.img_size / cfg_.patch_size;
    return grid * grid + 1;
}

int64_t VitEncoder::piece_images() const { return std::max<int64_t>(1, kPieceTokens / tokens_per_image()); }

std::shared_ptr<const std::vector<Block>> VitEncoder::prepare_blocks() const {
    std::lock_guard<std::mutex> guard(copies_mutex_);
    std::vector<int64_t> versions;
    for (const auto& p : params_) versions.push_back(static_cast<int64_t>(p.value._version()));
    versions.push_back(bf16_ ? 1 : 0);
    if (prepared_ && versions == prepared_versions_) return prepared_;
    torch::NoGradGuard no_grad;
    const int64_t rows = piece_images() * tokens_per_image();
    auto blocks = std::make_shared<std::vector<Block>>(blocks_);
    for (auto& b : *blocks) {
        if (bf16_)
            for (auto* t : {&b.qkv_w, &b.qkv_b, &b.proj_w, &b.proj_b, &b.fc1_w, &b.fc1_b, &b.fc2_w, &b.fc2_b})
                *t = t->to(torch::kBFloat16);
        if (!device_.is_cpu()) continue;
        b.qkv_w = packed_weight(b.qkv_w, b.qkv_b, rows);
        b.proj_w = packed_weight(b.proj_w, b.proj_b, rows);
        b.fc1_w = packed_weight(b.fc1_w, b.fc1_b, rows);
        b.fc2_w = packed_weight(b.fc2_w, b.fc2_b, rows);
    }
    prepared_versions_ = std::move(versions);
    prepared_ = blocks;
    return prepared_;
}

torch::Tensor VitEncoder::embed(const torch::Tensor& images, int32_t pool) const {
    require(pool == MAE_POOL_CLS || pool == MAE_POOL_MEAN || pool == MAE_POOL_TOKENS,
            "pool must be MAE_POOL_CLS, MAE_POOL_MEAN or MAE_POOL_TOKENS, got " + std::to_string(pool));
    require(tail_ == Tail::Norm || pool == MAE_POOL_MEAN,
            "a fine-tuned classifier's encoder pools globally: only MAE_POOL_MEAN is served");
    std::shared_lock<std::shared_mutex> lock(lock_);
    c10::InferenceMode inference;
    auto imgs = prepare_images(cfg_, device_, patch_w_.scalar_type(), images);
    std::shared_ptr<const std::vector<Block>> prepared;
    if (bf16_ || device_.is_cpu()) prepared = prepare_blocks();
    const auto& blocks = prepared ? *prepared : blocks_;
    // A large batch runs in pieces (piece_images): their activations stay in the last-level cache.
    const int64_t n = imgs.size(0), piece = piece_images();
    if (n <= piece) return embed_piece(imgs, pool, blocks);
    std::vector<torch::Tensor> outs;
    for (int64_t first = 0; first < n; first += piece)
        outs.push_back(embed_piece(imgs.narrow(0, first, std::min(piece, n - first)), pool, blocks));
    return torch::cat(outs, 0);
}

torch::Tensor VitEncoder::embed_piece(const torch::Tensor& imgs, int32_t pool, const std::vector<Block>& blocks) const {
    // [N, C, H, W] -> [N, L, D], the position table added, [CLS] (with its position) in front: [N, 1 + L, D]
    auto x = torch::conv2d(imgs, patch_w_, patch_b_, cfg_.patch_size).flatten(2).transpose(1, 2);
    x = x + pos_embed_.narrow(1, 1, x.size(1));
    auto cls = (cls_token_ + pos_embed_.narrow(1, 0, 1)).expand({x.size(0), -1, -1});
    x = torch::cat({cls, x}, 1);
    for (const auto& b : blocks) x = block_forward(b, x);
    const double eps = cfg_.layer_norm_eps;
    if (tail_ == Tail::PooledFcNorm) return layer_norm(x.narrow(1, 1, x.size(1) - 1).mean(1), norm_w_, norm_b_, eps);
    if (pool == MAE_POOL_CLS) return layer_norm(x.select(1, 0), norm_w_, norm_b_, eps);  // LayerNorm is per token
    auto tokens = layer_norm(x, norm_w_, norm_b_, eps);
    return pool == MAE_POOL_MEAN ? tokens.narrow(1, 1, tokens.size(1) - 1).mean(1) : tokens;
}

}  // namespace mae
