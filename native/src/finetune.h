// Fine-tuning a classifier end to end: label-smoothed cross-entropy, AdamW with the reference's
// layer-wise learning-rate decay (util/lr_decay.py).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>

#include "adamw.h"
#include "classifier.h"
#include "training.h"

namespace mae {

// get_layer_id_for_vit: cls_token, pos_embed and patch_embed are layer 0, blocks.i is layer i + 1,
// everything after the blocks is layer depth + 1.
int64_t vit_layer_id(const std::string& name, int64_t depth);

// param_groups_lrd: lr_scale = layer_decay^(depth + 1 − layer id); no weight decay on 1-D parameters
// and on timm's no_weight_decay() list (pos_embed, cls_token).
GroupRule layer_decay_groups(int64_t depth, double layer_decay);

// Partial fine-tuning: marks the last k blocks (layer ids above depth − k), fc_norm and the head as trained, and the
// rest (patch embedding, position table, [CLS], the first depth − k blocks) as frozen, their tensors not requiring
// gradients, so backward computes none for them and stops below the first trained block. k in [0, depth]; k = depth
// trains every parameter, the embeddings included (full fine-tuning); k = 0 gives the classifier the linear-probe
// head (VitClassifier::add_probe_head) and trains its linear layer alone. Blocks are not trained under a probe head.
std::shared_ptr<VitClassifier> train_last_blocks(std::shared_ptr<VitClassifier> model, int64_t k);

class FineTuner : public Training<VitClassifier> {
public:
    // Trains the last trainable_blocks blocks, fc_norm and the head (train_last_blocks); all of them: depth; the
    // linear probe: 0.
    FineTuner(std::shared_ptr<VitClassifier> model, const mae_adamw_config& cfg, double layer_decay,
              double label_smoothing, int64_t trainable_blocks);
    // One update from one labelled batch (stochastic depth on); returns the batch's loss.
    double step(const torch::Tensor& images, const torch::Tensor& labels);
    // The same with soft targets [N, K] (e.g. Mixup/CutMix's mixed, smoothed one-hot rows) and timm's
    // SoftTargetCrossEntropy; the tuner's own label smoothing is not applied on top.
    double step_soft(const torch::Tensor& images, const torch::Tensor& targets);

private:
    // The loss of logits for the batch rows [first, first + rows).
    using RowsLoss = std::function<torch::Tensor(const torch::Tensor& logits, int64_t first, int64_t rows)>;
    // Gradients of one batch's loss, then AdamW's update, or a skip when the loss or a gradient is not finite.
    double update_from(const torch::Tensor& imgs, const RowsLoss& loss_of);
    // The linear probe's training logits: the frozen encoder's features without stochastic depth (main_linprobe.py
    // builds it with none) and without gradients, then BatchNorm on the whole batch's statistics and the linear layer.
    torch::Tensor probe_logits(const torch::Tensor& imgs);
    // Forward and backward, split over threads_ when set; returns the batch's loss.
    double forward_backward(const torch::Tensor& imgs, const RowsLoss& loss_of);

    double label_smoothing_;
    bool head_only_;  // trainable_blocks 0: features under no_grad, the head on the whole batch
};

}  // namespace mae
