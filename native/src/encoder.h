// The encoder alone, for inference (what Encoder.load serves): cls_token, pos_embed, patch_embed, the blocks and
// the final norm of an MAE, or the globally pooled fc_norm of a fine-tuned models_vit classifier — no decoder, no
// head, no autograd state, and no random initialisation: the parameters start at zero (MAE's fixed position table
// at its sine-cosine values) for the caller to load. Products run through products.h (bias+GELU fused, residual
// additions in place), on the CPU from copies of the linear weights reordered once per load into oneDNN's layout
// (where that is the faster), optionally in bfloat16 from copies made once per load.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "mae.h"
#include "vit.h"

namespace mae {

class VitEncoder {
public:
    // What follows the blocks: MAE's final norm (over every token), or a classifier's mean of the patch tokens
    // followed by fc_norm (its position table then learned, so loaded).
    enum class Tail { Norm, PooledFcNorm };

    VitEncoder(const mae_config& cfg, torch::Device device, Tail tail);

    const mae_config& config() const { return cfg_; }
    Tail tail() const { return tail_; }
    std::vector<Param>& params() { return params_; }
    std::shared_mutex& lock() const { return lock_; }

    // Products in bfloat16 (true) from bfloat16 copies of the linear weights, or in the parameters' dtype.
    void set_bf16(bool on);
    bool bf16() const { return bf16_; }

    // Caller images [N, C, H, W] -> MAE_POOL_CLS: [N, D] (the [CLS] token after the final norm), MAE_POOL_MEAN: [N, D]
    // (the patch tokens' mean after the final norm; for PooledFcNorm, the mean then fc_norm), MAE_POOL_TOKENS: every
    // token [N, 1 + L, D]. Inference mode, shared lock: any number of threads at once. Batches of more than about
    // 1600 tokens run in pieces of that size, one after the other.
    torch::Tensor embed(const torch::Tensor& images, int32_t pool) const;

private:
    mae_config cfg_;
    torch::Device device_;
    Tail tail_;
    std::vector<Param> params_;
    mutable std::shared_mutex lock_;
    bool bf16_ = false;

    torch::Tensor cls_token_, pos_embed_, patch_w_, patch_b_, norm_w_, norm_b_;
    std::vector<Block> blocks_;

    // A batch of more than about kPieceTokens tokens runs in pieces of piece_images() images, whose activations stay
    // in the last-level cache (ViT-B/16 on a 32 MiB L3: 5.5 img/s at batch 8, 5.0 at batch 32 in one piece).
    static constexpr int64_t kPieceTokens = 1600;
    int64_t piece_images() const;
    int64_t tokens_per_image() const;  // the patches and [CLS]

    // The blocks as the products read them: the linear weights as bfloat16 copies in bf16 mode, and on the CPU
    // reordered for oneDNN where that runs a piece's products faster (packed_weight); made from the parameters'
    // current values when first needed after a change (each parameter's version counter, and the mode, say when).
    mutable std::mutex copies_mutex_;
    mutable std::vector<int64_t> prepared_versions_;
    mutable std::shared_ptr<const std::vector<Block>> prepared_;
    std::shared_ptr<const std::vector<Block>> prepare_blocks() const;
    // embed's work on prepared images, in one piece.
    torch::Tensor embed_piece(const torch::Tensor& imgs, int32_t pool, const std::vector<Block>& blocks) const;
};

}  // namespace mae
