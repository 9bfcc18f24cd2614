#include "model.h"

#include "autocast.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "errors.h"
#include "masking.h"
#include "pos_embed.h"
#include "products.h"

namespace mae {

namespace {

constexpr double kNormPixEps = 1e-6;

void require_positive(int64_t value, const char* field) {
    require(value > 0, std::string(field) + " must be positive, got " + std::to_string(value));
}

}  // namespace

void validate_config(const mae_config& c) {
    require_positive(c.img_size, "img_size");
    require_positive(c.patch_size, "patch_size");
    require_positive(c.in_chans, "in_chans");
    require_positive(c.embed_dim, "embed_dim");
    require_positive(c.depth, "depth");
    require_positive(c.num_heads, "num_heads");
    require_positive(c.decoder_embed_dim, "decoder_embed_dim");
    require_positive(c.decoder_depth, "decoder_depth");
    require_positive(c.decoder_num_heads, "decoder_num_heads");
    require(c.img_size % c.patch_size == 0, "img_size (" + std::to_string(c.img_size) +
                                                ") must be divisible by patch_size (" + std::to_string(c.patch_size) +
                                                ")");
    require(c.embed_dim % c.num_heads == 0, "embed_dim (" + std::to_string(c.embed_dim) +
                                                ") must be divisible by num_heads (" + std::to_string(c.num_heads) +
                                                ")");
    require(c.decoder_embed_dim % c.decoder_num_heads == 0,
            "decoder_embed_dim (" + std::to_string(c.decoder_embed_dim) + ") must be divisible by decoder_num_heads (" +
                std::to_string(c.decoder_num_heads) + ")");
    require(c.embed_dim % 4 == 0,
            "embed_dim must be a multiple of 4 (sine-cosine position embedding), got " + std::to_string(c.embed_dim));
    require(c.decoder_embed_dim % 4 == 0,
            "decoder_embed_dim must be a multiple of 4 (sine-cosine position embedding), got " +
                std::to_string(c.decoder_embed_dim));
    require(std::isfinite(c.mlp_ratio) && c.mlp_ratio > 0 && static_cast<int64_t>(c.embed_dim * c.mlp_ratio) >= 1 &&
                static_cast<int64_t>(c.decoder_embed_dim * c.mlp_ratio) >= 1,
            "mlp_ratio must be positive and give a hidden width of at least 1, got " + std::to_string(c.mlp_ratio));
    require(c.norm_pix_loss == 0 || c.norm_pix_loss == 1,
            "norm_pix_loss must be 0 or 1, got " + std::to_string(c.norm_pix_loss));
    require(std::isfinite(c.layer_norm_eps) && c.layer_norm_eps > 0,
            "layer_norm_eps must be finite and > 0, got " + std::to_string(c.layer_norm_eps));
    require(c.dtype == MAE_DTYPE_F32 || c.dtype == MAE_DTYPE_F64 || c.dtype == MAE_DTYPE_BF16,
            "dtype must be MAE_DTYPE_F32, MAE_DTYPE_F64 or MAE_DTYPE_BF16, got " + std::to_string(c.dtype));
}

MaeModel::MaeModel(const mae_config& cfg, torch::Device device, uint64_t seed) : cfg_(cfg), device_(device) {
    validate_config(cfg);
    const int64_t d = cfg.embed_dim, dd = cfg.decoder_embed_dim, p = cfg.patch_size, c = cfg.in_chans;
    const int64_t l = num_patches();
    auto opts = torch::TensorOptions().dtype(dtype());

    // Registered in the reference state_dict's order: the module's own parameters, then its children.
    add("cls_token", torch::empty({1, 1, d}, opts));
    add("pos_embed", torch::empty({1, l + 1, d}, opts), /*trainable=*/false);
    add("mask_token", torch::empty({1, 1, dd}, opts));
    add("decoder_pos_embed", torch::empty({1, l + 1, dd}, opts), /*trainable=*/false);
    add("patch_embed.proj.weight", torch::empty({d, c, p, p}, opts));
    add("patch_embed.proj.bias", torch::empty({d}, opts));
    for (int32_t i = 0; i < cfg.depth; ++i)
        add_block_params(params_, "blocks." + std::to_string(i) + ".", d, cfg.mlp_ratio, opts);
    add("norm.weight", torch::empty({d}, opts));
    add("norm.bias", torch::empty({d}, opts));
    add("decoder_embed.weight", torch::empty({dd, d}, opts));
    add("decoder_embed.bias", torch::empty({dd}, opts));
    for (int32_t i = 0; i < cfg.decoder_depth; ++i)
        add_block_params(params_, "decoder_blocks." + std::to_string(i) + ".", dd, cfg.mlp_ratio, opts);
    add("decoder_norm.weight", torch::empty({dd}, opts));
    add("decoder_norm.bias", torch::empty({dd}, opts));
    add("decoder_pred.weight", torch::empty({p * p * c, dd}, opts));
    add("decoder_pred.bias", torch::empty({p * p * c}, opts));

    initialize_weights(seed);

    for (auto& prm : params_) prm.value = prm.value.to(device_).detach().requires_grad_(prm.trainable);
    auto get = [this](const std::string& name) { return param(name).value; };
    cls_token_ = get("cls_token");
    pos_embed_ = get("pos_embed");
    mask_token_ = get("mask_token");
    decoder_pos_embed_ = get("decoder_pos_embed");
    patch_w_ = get("patch_embed.proj.weight");
    patch_b_ = get("patch_embed.proj.bias");
    norm_w_ = get("norm.weight");
    norm_b_ = get("norm.bias");
    decoder_embed_w_ = get("decoder_embed.weight");
    decoder_embed_b_ = get("decoder_embed.bias");
    decoder_norm_w_ = get("decoder_norm.weight");
    decoder_norm_b_ = get("decoder_norm.bias");
    decoder_pred_w_ = get("decoder_pred.weight");
    decoder_pred_b_ = get("decoder_pred.bias");
    for (int32_t i = 0; i < cfg.depth; ++i)
        blocks_.push_back(bind_block(params_, "blocks." + std::to_string(i) + ".", cfg.num_heads, cfg.layer_norm_eps));
    for (int32_t i = 0; i < cfg.decoder_depth; ++i)
        decoder_blocks_.push_back(bind_block(params_, "decoder_blocks." + std::to_string(i) + ".",
                                             cfg.decoder_num_heads, cfg.layer_norm_eps));
}

torch::ScalarType MaeModel::dtype() const { return cfg_.dtype == MAE_DTYPE_F64 ? torch::kFloat64 : torch::kFloat32; }

int64_t MaeModel::num_patches() const {
    const int64_t grid = cfg_.img_size / cfg_.patch_size;
    return grid * grid;
}

const Param& MaeModel::param(const std::string& name) const { return find_param(params_, name); }

void MaeModel::add(const std::string& name, torch::Tensor value, bool trainable) {
    params_.push_back({name, std::move(value), trainable});
}

// As the reference initialize_weights: fixed sine-cosine tables, the patch embedding like a Linear on its
// [D, C·p·p] view (its bias keeps Conv2d's default init), tokens normal(0.02), every Linear xavier-uniform
// with zero bias, every LayerNorm weight 1 and bias 0.
void MaeModel::initialize_weights(uint64_t seed) {
    torch::NoGradGuard no_grad;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const int64_t grid = cfg_.img_size / cfg_.patch_size;
    auto xavier_uniform = [&](torch::Tensor& w2d) {
        const double bound = std::sqrt(6.0 / static_cast<double>(w2d.size(0) + w2d.size(1)));
        w2d.uniform_(-bound, bound, gen);
    };
    auto ends_with = [](const std::string& s, const std::string& suffix) {
        return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    for (auto& prm : params_) {
        auto& v = prm.value;
        const auto& name = prm.name;
        if (name == "pos_embed") {
            v.copy_(sincos_pos_embed_2d(cfg_.embed_dim, grid).unsqueeze(0));
        } else if (name == "decoder_pos_embed") {
            v.copy_(sincos_pos_embed_2d(cfg_.decoder_embed_dim, grid).unsqueeze(0));
        } else if (name == "cls_token" || name == "mask_token") {
            v.normal_(0.0, 0.02, gen);
        } else if (name == "patch_embed.proj.weight") {
            auto view = v.view({v.size(0), -1});
            xavier_uniform(view);
        } else if (name == "patch_embed.proj.bias") {
            const double fan_in = static_cast<double>(cfg_.in_chans) * cfg_.patch_size * cfg_.patch_size;
            const double bound = 1.0 / std::sqrt(fan_in);
            v.uniform_(-bound, bound, gen);
        } else if (ends_with(name, "norm1.weight") || ends_with(name, "norm2.weight") || name == "norm.weight" ||
                   name == "decoder_norm.weight") {
            v.fill_(1.0);
        } else if (v.dim() == 1) {  // every remaining 1-D tensor is a Linear or LayerNorm bias
            v.zero_();
        } else {  // every remaining 2-D tensor is a Linear weight
            xavier_uniform(v);
        }
    }
}

torch::Tensor MaeModel::patchify(const torch::Tensor& imgs) const {
    const int64_t n = imgs.size(0), c = cfg_.in_chans, p = cfg_.patch_size, h = cfg_.img_size / p;
    auto x = imgs.reshape({n, c, h, p, h, p});
    x = x.permute({0, 2, 4, 3, 5, 1});  // nchpwq -> nhwpqc
    return x.reshape({n, h * h, p * p * c});
}

torch::Tensor MaeModel::embed_patches(const torch::Tensor& imgs) const {
    // embed patches: [N, C, H, W] -> [N, L, D]
    auto x = torch::conv2d(imgs, patch_w_, patch_b_, cfg_.patch_size).flatten(2).transpose(1, 2);
    // add pos embed w/o cls token
    return x + pos_embed_.narrow(1, 1, num_patches());
}

torch::Tensor MaeModel::encode_tokens(const torch::Tensor& x) const {
    // append cls token
    auto cls = (cls_token_ + pos_embed_.narrow(1, 0, 1)).expand({x.size(0), -1, -1});
    auto h = torch::cat({cls, x}, 1);  // [N, 1 + T, D]
    for (const auto& b : blocks_) h = block_forward(b, h);
    return layer_norm(h, norm_w_, norm_b_, cfg_.layer_norm_eps);
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> MaeModel::forward_encoder(const torch::Tensor& imgs,
                                                                                  const torch::Tensor& noise,
                                                                                  double mask_ratio) const {
    auto x = embed_patches(imgs);
    // masking: length -> length * (1 - mask_ratio)
    auto m = random_masking(x, noise, mask_ratio);
    return {encode_tokens(m.x_masked), m.mask, m.ids_restore};
}

torch::Tensor MaeModel::encode(const torch::Tensor& imgs) const {
    AutocastScope autocast(mixed_precision(), device_.type());
    return encode_tokens(embed_patches(imgs)).to(dtype());
}

torch::Tensor MaeModel::forward_decoder(const torch::Tensor& latent, const torch::Tensor& ids_restore) const {
    auto x = linear(latent, decoder_embed_w_, decoder_embed_b_);  // [N, 1 + len_keep, Dd]
    const int64_t n = x.size(0), l = ids_restore.size(1), dd = x.size(2);
    // append mask tokens to the sequence, then unshuffle
    auto mask_tokens = mask_token_.expand({n, l + 1 - x.size(1), dd});
    auto x_ = torch::cat({x.narrow(1, 1, x.size(1) - 1), mask_tokens}, 1);  // no cls token
    x_ = torch::gather(x_, 1, ids_restore.unsqueeze(-1).expand({n, l, dd}));
    x = torch::cat({x.narrow(1, 0, 1), x_}, 1);  // [N, 1 + L, Dd]
    x = x + decoder_pos_embed_;
    for (const auto& b : decoder_blocks_) x = block_forward(b, x);
    x = layer_norm(x, decoder_norm_w_, decoder_norm_b_, cfg_.layer_norm_eps);
    x = linear(x, decoder_pred_w_, decoder_pred_b_);
    return x.narrow(1, 1, l);  // remove cls token: [N, L, p*p*C]
}

torch::Tensor MaeModel::forward_loss(const torch::Tensor& imgs, const torch::Tensor& pred,
                                     const torch::Tensor& mask) const {
    auto target = patchify(imgs);
    if (cfg_.norm_pix_loss) {
        auto mean = target.mean(-1, /*keepdim=*/true);
        auto var = target.var(-1, /*unbiased=*/true, /*keepdim=*/true);
        target = (target - mean) / (var + kNormPixEps).sqrt();
    }
    auto loss = (pred - target).pow(2).mean(-1);  // [N, L], mean loss per patch
    return (loss * mask).sum() / mask.sum();      // mean loss on removed patches
}

ForwardOutput MaeModel::forward(const torch::Tensor& imgs, const torch::Tensor& noise, double mask_ratio) const {
    // bf16: the whole forward, loss included, under autocast, as main_pretrain.py's `with autocast(): model(...)`
    AutocastScope autocast(mixed_precision(), device_.type());
    auto [latent, mask, ids_restore] = forward_encoder(imgs, noise, mask_ratio);
    auto pred = forward_decoder(latent, ids_restore);
    auto loss = forward_loss(imgs, pred, mask);
    return {loss.to(dtype()), pred.to(dtype()), mask, ids_restore, latent.to(dtype())};
}

}  // namespace mae
