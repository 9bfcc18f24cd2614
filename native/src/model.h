// The MAE model: a ViT encoder over the kept patches and a light decoder that predicts the removed ones,
// computed as the reference models_mae.py computes it. Parameters are named and ordered as its state_dict.
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <shared_mutex>
#include <string>
#include <vector>

#include "mae.h"
#include "vit.h"

namespace mae {

class Masker;

struct ForwardOutput {
    torch::Tensor loss;         // scalar
    torch::Tensor pred;         // [N, L, p*p*C]
    torch::Tensor mask;         // [N, L]
    torch::Tensor ids_restore;  // [N, L]
    torch::Tensor latent;       // [N, 1 + len_keep, D]
};

// Validates a configuration, throwing InvalidArgument that names the first bad field.
void validate_config(const mae_config& cfg);

class MaeModel;

// Forward, then backward of loss·loss_scale, adding to the gradients; the caller holds the exclusive lock.
ForwardOutput forward_backward(MaeModel& model, const torch::Tensor& imgs, Masker& masker, double loss_scale = 1.0);

class MaeModel {
public:
    MaeModel(const mae_config& cfg, torch::Device device, uint64_t seed);

    const mae_config& config() const { return cfg_; }
    const torch::Device& device() const { return device_; }
    torch::ScalarType dtype() const;  // of the parameters (F32 for MAE_DTYPE_BF16) and of the tensors handed back
    bool mixed_precision() const { return cfg_.dtype == MAE_DTYPE_BF16; }
    int64_t num_patches() const;
    std::vector<Param>& params() { return params_; }
    const std::vector<Param>& params() const { return params_; }
    const Param& param(const std::string& name) const;  // throws InvalidArgument for an unknown name

    // imgs [N, C, H, W] in the model's dtype and device; noise [N, L].
    ForwardOutput forward(const torch::Tensor& imgs, const torch::Tensor& noise, double mask_ratio) const;
    torch::Tensor patchify(const torch::Tensor& imgs) const;  // [N, C, H, W] -> [N, L, p*p*C]
    // All patches, no masking: [N, 1 + L, D] after the final norm.
    torch::Tensor encode(const torch::Tensor& imgs) const;

    // Guards parameters: shared for inference, exclusive for updates and backward passes.
    std::shared_mutex& lock() const { return lock_; }

    // Caller-facing passes on caller images [N, C, H, W] (brought to the model's dtype and device; `input_address`
    // gets the address computed on, the zero-copy check), each taking lock() itself (model_passes.cpp). `backward`:
    // gradients cleared, then the loss's computed (exclusive lock); else inference mode under a shared lock.
    ForwardOutput run(const torch::Tensor& images, Masker& masker, bool backward, std::atomic<uint64_t>& input_address);
    // The encoder's features [N, 1 + L, D] of caller images, in inference mode under a shared lock.
    torch::Tensor run_encoder(const torch::Tensor& images, std::atomic<uint64_t>& input_address) const;

private:
    void add(const std::string& name, torch::Tensor value, bool trainable = true);
    void initialize_weights(uint64_t seed);

    torch::Tensor embed_patches(const torch::Tensor& imgs) const;  // [N, L, D], position added
    torch::Tensor encode_tokens(const torch::Tensor& x) const;     // [CLS] + x through the blocks and norm
    std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> forward_encoder(const torch::Tensor& imgs,
                                                                            const torch::Tensor& noise,
                                                                            double mask_ratio) const;
    torch::Tensor forward_decoder(const torch::Tensor& latent, const torch::Tensor& ids_restore) const;
    torch::Tensor forward_loss(const torch::Tensor& imgs, const torch::Tensor& pred, const torch::Tensor& mask) const;

    mae_config cfg_;
    torch::Device device_;
    std::vector<Param> params_;
    mutable std::shared_mutex lock_;

    // Handles into params_ (tensors share storage), for the forward pass.
    torch::Tensor cls_token_, pos_embed_, mask_token_, decoder_pos_embed_;
    torch::Tensor patch_w_, patch_b_, norm_w_, norm_b_;
    torch::Tensor decoder_embed_w_, decoder_embed_b_, decoder_norm_w_, decoder_norm_b_;
    torch::Tensor decoder_pred_w_, decoder_pred_b_;
    std::vector<Block> blocks_, decoder_blocks_;
};

}  // namespace mae
