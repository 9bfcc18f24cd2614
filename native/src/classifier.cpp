#include "classifier.h"

#include <algorithm>
#include <cmath>

#include "autocast.h"
#include "errors.h"
#include "products.h"
#include "tensors.h"

namespace mae {

VitClassifier::VitClassifier(const MaeModel& mae, int64_t num_classes, double drop_path_rate, uint64_t seed)
    : cfg_(mae.config()),
      num_classes_(num_classes),
      drop_path_rate_(drop_path_rate),
      device_(mae.device()),
      gen_(at::make_generator<at::CPUGeneratorImpl>(seed)) {
    require(num_classes >= 1, "num_classes must be >= 1, got " + std::to_string(num_classes));
    require(std::isfinite(drop_path_rate) && drop_path_rate >= 0 && drop_path_rate < 1,
            "drop_path_rate must be in [0, 1), got " + std::to_string(drop_path_rate));
    torch::NoGradGuard no_grad;
    const int64_t d = cfg_.embed_dim;
    params_.reserve(4 + 12 * cfg_.depth + 6);  // add_probe_head appends two: names handed out stay where they are
    auto copy = [&](const std::string& name) {
        params_.push_back({name, mae.param(name).value.detach().clone(), true});
    };
    // timm's state_dict order: own parameters, then patch_embed, blocks, head; fc_norm was added last.
    copy("cls_token");
    copy("pos_embed");
    copy("patch_embed.proj.weight");
    copy("patch_embed.proj.bias");
    for (const auto& p : mae.params())
        if (p.name.rfind("blocks.", 0) == 0) copy(p.name);
    auto opts = torch::TensorOptions().dtype(dtype()).device(device_);
    auto head_w = torch::empty({num_classes, d}, opts.device(torch::kCPU));
    // main_finetune.py: trunc_normal_(head.weight, std=2e-5); its cut at ±2 lies 1e5 deviations out.
    head_w.normal_(0.0, 2e-5, gen_);
    params_.push_back({"head.weight", head_w.to(device_), true});
    params_.push_back({"head.bias", torch::zeros({num_classes}, opts), true});
    params_.push_back({"fc_norm.weight", torch::ones({d}, opts), true});
    params_.push_back({"fc_norm.bias", torch::zeros({d}, opts), true});
    for (auto& p : params_) p.value = p.value.detach().requires_grad_(true);

    auto get = [this](const char* name) { return param(name).value; };
    cls_token_ = get("cls_token");
    pos_embed_ = get("pos_embed");
    patch_w_ = get("patch_embed.proj.weight");
    patch_b_ = get("patch_embed.proj.bias");
    head_w_ = get("head.weight");
    head_b_ = get("head.bias");
    fc_norm_w_ = get("fc_norm.weight");
    fc_norm_b_ = get("fc_norm.bias");
    for (int32_t i = 0; i < cfg_.depth; ++i) {
        auto block = bind_block(params_, "blocks." + std::to_string(i) + ".", cfg_.num_heads, cfg_.layer_norm_eps);
        // timm: dpr = torch.linspace(0, drop_path_rate, depth)
        block.drop_path = cfg_.depth == 1 ? 0.0 : drop_path_rate * i / (cfg_.depth - 1);
        blocks_.push_back(block);
    }
}

void VitClassifier::add_probe_head() {
    if (probe_head_) return;
    torch::NoGradGuard no_grad;
    auto opts = torch::TensorOptions().dtype(dtype()).device(device_);
    auto head_w = torch::empty({num_classes_, cfg_.embed_dim}, opts.device(torch::kCPU));
    head_w.normal_(0.0, 0.01, gen_);
    head_w_.copy_(head_w);
    head_b_.zero_();
    for (auto& p : params_) {
        if (p.name == "head.weight") p.name = "head.1.weight";
        if (p.name == "head.bias") p.name = "head.1.bias";
    }
    running_mean_ = torch::zeros({cfg_.embed_dim}, opts);
    running_var_ = torch::ones({cfg_.embed_dim}, opts);
    // BatchNorm1d's buffers come before the linear layer's parameters in the state_dict
    auto at = std::find_if(params_.begin(), params_.end(), [](const Param& p) { return p.name == "head.1.weight"; });
    params_.insert(at, {{"head.0.running_mean", running_mean_, false}, {"head.0.running_var", running_var_, false}});
    probe_head_ = true;
}

torch::Tensor VitClassifier::head_forward(const torch::Tensor& features, bool train) {
    if (!probe_head_) return linear(features, head_w_, head_b_);
    require(!train || features.size(0) > 1,
            "the linear-probe head's BatchNorm needs at least 2 images in a training batch, got " +
                std::to_string(features.size(0)));
    auto z = torch::batch_norm(features.to(dtype()), {}, {}, running_mean_, running_var_, train, 0.1, 1e-6, false);
    return linear(z, head_w_, head_b_);
}

torch::ScalarType VitClassifier::dtype() const {
    return cfg_.dtype == MAE_DTYPE_F64 ? torch::kFloat64 : torch::kFloat32;
}

void VitClassifier::set_rng_state(const torch::Tensor& state) {
    restore_generator_state(gen_, state, "classifier generator state", "mae_classifier_rng_state_get");
}

std::vector<DropPath> VitClassifier::draw_drop_path(int64_t n) {
    std::vector<DropPath> drops;
    for (const auto& b : blocks_) drops.push_back(mae::draw_drop_path(b, n, dtype(), device_, gen_));
    return drops;
}

torch::Tensor VitClassifier::features(const torch::Tensor& imgs, const std::vector<DropPath>* drops) {
    AutocastScope autocast(mixed_precision(), device_.type());  // bf16: as main_finetune.py's autocast
    // [N, C, H, W] -> [N, L, D]
    auto x = torch::conv2d(imgs, patch_w_, patch_b_, cfg_.patch_size).flatten(2).transpose(1, 2);
    auto cls = cls_token_.expand({x.size(0), -1, -1});
    x = torch::cat({cls, x}, 1) + pos_embed_;  // [N, 1 + L, D]
    for (size_t i = 0; i < blocks_.size(); ++i) x = block_forward(blocks_[i], x, drops ? &(*drops)[i] : nullptr);
    // global pool without cls token, then fc_norm
    return layer_norm(x.narrow(1, 1, x.size(1) - 1).mean(1), fc_norm_w_, fc_norm_b_, cfg_.layer_norm_eps).to(dtype());
}

torch::Tensor VitClassifier::forward_features(const torch::Tensor& imgs, bool train) {
    if (!train) return features(imgs, nullptr);
    auto drops = draw_drop_path(imgs.size(0));
    return features(imgs, &drops);
}

torch::Tensor VitClassifier::forward(const torch::Tensor& imgs, bool train) {
    AutocastScope autocast(mixed_precision(), device_.type());
    return head_forward(forward_features(imgs, train), train).to(dtype());  // the loss in float32
}

torch::Tensor VitClassifier::forward(const torch::Tensor& imgs, const std::vector<DropPath>* drops) {
    AutocastScope autocast(mixed_precision(), device_.type());
    return head_forward(features(imgs, drops), /*train=*/true).to(dtype());
}

torch::Tensor smoothed_cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels, double smoothing) {
    require(std::isfinite(smoothing) && smoothing >= 0 && smoothing < 1,
            "label_smoothing must be in [0, 1), got " + std::to_string(smoothing));
    auto logprobs = torch::log_softmax(logits, -1);
    auto nll = -logprobs.gather(-1, labels.unsqueeze(-1)).squeeze(-1);
    auto smooth = -logprobs.mean(-1);
    return ((1.0 - smoothing) * nll + smoothing * smooth).mean();
}

torch::Tensor soft_target_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets) {
    return (-targets * torch::log_softmax(logits, -1)).sum(-1).mean();
}

}  // namespace mae
