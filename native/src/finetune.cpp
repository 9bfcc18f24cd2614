#include "finetune.h"

#include <cmath>
#include <mutex>
#include <numeric>

#include "autocast.h"
#include "errors.h"
#include "tensors.h"

namespace mae {

int64_t vit_layer_id(const std::string& name, int64_t depth) {
    if (name == "cls_token" || name == "pos_embed" || name.rfind("patch_embed", 0) == 0) return 0;
    if (name.rfind("blocks.", 0) == 0) return std::stoll(name.substr(7, name.find('.', 7) - 7)) + 1;
    return depth + 1;
}

GroupRule layer_decay_groups(int64_t depth, double layer_decay) {
    require(std::isfinite(layer_decay) && layer_decay > 0 && layer_decay <= 1,
            "layer_decay must be in (0, 1], got " + std::to_string(layer_decay));
    return [depth, layer_decay](const Param& p) {
        const bool no_decay = p.value.dim() == 1 || p.name == "pos_embed" || p.name == "cls_token";
        const auto layers_above = static_cast<double>(depth + 1 - vit_layer_id(p.name, depth));
        return ParamGroup{!no_decay, std::pow(layer_decay, layers_above)};
    };
}

std::shared_ptr<VitClassifier> train_last_blocks(std::shared_ptr<VitClassifier> model, int64_t k) {
    const int64_t depth = model->config().depth;
    require(k >= 0 && k <= depth,
            "trainable_blocks must be in [0, " + std::to_string(depth) + "], got " + std::to_string(k));
    require(k == 0 || !model->has_probe_head(),
            "this classifier has the linear-probe head (trainable_blocks 0); training blocks under it is not "
            "supported: start from the encoder again");
    if (k == 0) model->add_probe_head();
    for (auto& p : model->params()) {
        const bool head = p.name.rfind("head.", 0) == 0 && p.name.rfind("head.0.", 0) != 0;
        p.trainable = k == 0 ? head : k == depth || vit_layer_id(p.name, depth) > depth - k;  // all: the embeddings too
        p.value.requires_grad_(p.trainable);  // autograd records nothing below the first trained layer
    }
    return model;
}

FineTuner::FineTuner(std::shared_ptr<VitClassifier> model, const mae_adamw_config& cfg, double layer_decay,
                     double label_smoothing, int64_t trainable_blocks)
    : Training<VitClassifier>(train_last_blocks(model, trainable_blocks), cfg,
                              layer_decay_groups(model->config().depth, layer_decay)),
      label_smoothing_(label_smoothing),
      head_only_(trainable_blocks == 0) {
    require(std::isfinite(label_smoothing) && label_smoothing >= 0 && label_smoothing < 1,
            "label_smoothing must be in [0, 1), got " + std::to_string(label_smoothing));
}

double FineTuner::step(const torch::Tensor& images, const torch::Tensor& labels) {
    auto& m = *model_;
    std::unique_lock<std::shared_mutex> lock(m.lock());
    auto imgs = prepare_images(m.config(), m.device(), m.dtype(), images);
    check_labels(labels, imgs.size(0), m.num_classes());
    auto y = labels.to(m.device());
    return update_from(imgs, [&](const torch::Tensor& logits, int64_t first, int64_t rows) {
        return smoothed_cross_entropy(logits, y.narrow(0, first, rows), label_smoothing_);
    });
}

double FineTuner::step_soft(const torch::Tensor& images, const torch::Tensor& targets) {
    auto& m = *model_;
    std::unique_lock<std::shared_mutex> lock(m.lock());
    auto imgs = prepare_images(m.config(), m.device(), m.dtype(), images);
    check_targets(targets, imgs.size(0), m.num_classes());
    auto t = targets.to(m.device(), m.dtype());
    return update_from(imgs, [&](const torch::Tensor& logits, int64_t first, int64_t rows) {
        return soft_target_cross_entropy(logits, t.narrow(0, first, rows));
    });
}

double FineTuner::update_from(const torch::Tensor& imgs, const RowsLoss& loss_of) {
    clear_gradients(model_->params());
    double value = forward_backward(imgs, loss_of);
    if (sync_) value = sync_->finish(value);  // a rank's NaN reaches every rank's mean: all of them skip together
    update(std::isfinite(value));
    return value;
}

torch::Tensor FineTuner::probe_logits(const torch::Tensor& imgs) {
    auto& m = *model_;
    torch::Tensor features;
    {
        torch::NoGradGuard no_grad;
        features = m.forward_features(imgs, /*train=*/false);
    }
    AutocastScope autocast(m.mixed_precision(), m.device().type());
    return m.head_forward(features, /*train=*/true).to(m.dtype());
}

double FineTuner::forward_backward(const torch::Tensor& imgs, const RowsLoss& loss_of) {
    auto& m = *model_;
    const int64_t n = imgs.size(0);
    if (shard_batch(head_only_ ? 1 : n) == 1) {  // the linear probe: one piece, BatchNorm over the whole batch
        auto loss = loss_of(head_only_ ? probe_logits(imgs) : m.forward(imgs, /*train=*/true), 0, n);
        if (sync_) sync_->arm();
        loss.backward();
        return loss.item<double>();
    }
    auto drops = m.draw_drop_path(n);  // the same draws as one unsplit batch
    auto losses = backward_in_shards(*threads_, n, trainable(m.params()), 1.0, [&](int, int64_t first, int64_t rows) {
        std::vector<DropPath> mine;
        for (const auto& d : drops) mine.push_back(d.narrow(first, rows));
        auto logits = m.forward(imgs.narrow(0, first, rows), &mine);
        return loss_of(logits, first, rows) * (static_cast<double>(rows) / n);
    });
    return std::accumulate(losses.begin(), losses.end(), 0.0);
}

}  // namespace mae
