#include "presets.h"

#include <array>

namespace mae {

namespace {

constexpr double kEps = 1e-6;  // timm's LayerNorm eps, the reference's

// {img_size, patch_size, in_chans, embed_dim, depth, num_heads, decoder_embed_dim, decoder_depth,
//  decoder_num_heads, mlp_ratio, norm_pix_loss, dtype, layer_norm_eps}, as models_mae.py's constructors
constexpr std::array<Preset, 6> kPresets{{
    {"vit-base16",
     "MAE ViT-B/16, the paper's decoder (512 wide, 8 blocks, 16 heads), 224 px RGB",
     {224, 16, 3, 768, 12, 12, 512, 8, 16, 4.0, 0, MAE_DTYPE_F32, kEps}},
    {"vit-large16",
     "MAE ViT-L/16, the paper's decoder, 224 px RGB",
     {224, 16, 3, 1024, 24, 16, 512, 8, 16, 4.0, 0, MAE_DTYPE_F32, kEps}},
    {"vit-huge14",
     "MAE ViT-H/14, the paper's decoder, 224 px RGB",
     {224, 14, 3, 1280, 32, 16, 512, 8, 16, 4.0, 0, MAE_DTYPE_F32, kEps}},
    {"vit-tiny16",
     "a ViT-Ti/16 encoder (192 wide, 12 blocks, 3 heads) with a 128x4 decoder, 224 px RGB",
     {224, 16, 3, 192, 12, 3, 128, 4, 4, 4.0, 0, MAE_DTYPE_F32, kEps}},
    {"fashion-mnist",
     "28 px grey images, patch 4 (49 patches), a 192x6 encoder, a 128x2 decoder, norm_pix_loss",
     {28, 4, 1, 192, 6, 3, 128, 2, 4, 4.0, 1, MAE_DTYPE_F32, kEps}},
    {"fashion-mnist-small",
     "mae pretrain's default: Fashion-MNIST with a 128x4 encoder and a 64x2 decoder, minutes on two CPU cores",
     {28, 4, 1, 128, 4, 4, 64, 2, 4, 4.0, 1, MAE_DTYPE_F32, kEps}},
}};

}  // namespace

std::span<const Preset> presets() { return kPresets; }

}  // namespace mae
