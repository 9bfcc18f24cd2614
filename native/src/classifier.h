// The fine-tuning model: the reference models_vit.VisionTransformer with global_pool=True. The MAE encoder
// runs over all patches; the patch tokens are mean-pooled, normalised by fc_norm and fed to a linear head.
#pragma once

#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <shared_mutex>
#include <vector>

#include "mae.h"
#include "model.h"
#include "vit.h"

namespace mae {

class VitClassifier {
public:
    // Starts from `mae`'s encoder (pretrained or freshly initialised): cls_token, pos_embed (trained from
    // here on, as timm's), patch_embed and blocks are copied; the encoder's final norm is dropped, as the
    // reference does for global pooling. fc_norm starts at 1 and 0, the head as main_finetune.py sets it.
    // Stochastic depth rises linearly from 0 to drop_path_rate over the blocks; `seed` drives it.
    VitClassifier(const MaeModel& mae, int64_t num_classes, double drop_path_rate, uint64_t seed);

    const mae_config& config() const { return cfg_; }
    int64_t num_classes() const { return num_classes_; }
    double drop_path_rate() const { return drop_path_rate_; }
    const torch::Device& device() const { return device_; }
    torch::ScalarType dtype() const;  // of the parameters (F32 for MAE_DTYPE_BF16) and of the tensors handed back
    bool mixed_precision() const { return cfg_.dtype == MAE_DTYPE_BF16; }
    std::vector<Param>& params() { return params_; }
    const std::vector<Param>& params() const { return params_; }
    const Param& param(const std::string& name) const { return find_param(params_, name); }
    std::shared_mutex& lock() const { return lock_; }

    // The paper's linear-probe head (main_linprobe.py): BatchNorm1d(D, affine=False, eps=1e-6) in front of the
    // linear layer, whose weight is drawn again from N(0, 0.01²) (its trunc_normal_ cut lies 200 deviations out).
    // The parameters become head.0.running_mean, head.0.running_var (not trained), head.1.weight and head.1.bias.
    // Once added it stays; a second call changes nothing. Callers hold lock().
    void add_probe_head();
    bool has_probe_head() const { return probe_head_; }
    // features [N, D] -> logits [N, num_classes]. With the probe head, `train` normalises by the batch's statistics
    // (at least 2 rows) and moves the running ones by momentum 0.1, as BatchNorm1d; otherwise by the running ones.
    torch::Tensor head_forward(const torch::Tensor& features, bool train);

    // imgs [N, C, H, W] -> pooled, normalised features [N, D]. `train` turns stochastic depth on.
    torch::Tensor forward_features(const torch::Tensor& imgs, bool train);
    // imgs [N, C, H, W] -> logits [N, num_classes].
    torch::Tensor forward(const torch::Tensor& imgs, bool train);
    // The stochastic-depth generator's state (U8), to resume its exact draws; set_rng_state takes what rng_state
    // gave. Callers hold lock().
    torch::Tensor rng_state() { return gen_.get_state(); }
    void set_rng_state(const torch::Tensor& state);

    // Caller-facing passes on caller images [N, C, H, W] (brought to the classifier's dtype and device), each taking
    // lock() itself (model_passes.cpp). Evaluation runs in inference mode under a shared lock (it never draws from
    // the generator): logits [N, num_classes], features [N, D].
    torch::Tensor run_logits(const torch::Tensor& images);
    torch::Tensor run_features(const torch::Tensor& images);
    // The label-smoothed cross-entropy of labels [N]; `backward`: training mode, gradients cleared then computed
    // (exclusive lock); else evaluation.
    double run_loss(const torch::Tensor& images, const torch::Tensor& labels, double smoothing, bool backward);
    // rng_state and set_rng_state under the lock.
    torch::Tensor locked_rng_state();
    void locked_set_rng_state(const torch::Tensor& state);
    // Stochastic depth for a training batch of n: one DropPath per block, drawn from the model's generator.
    std::vector<DropPath> draw_drop_path(int64_t n);
    // Training-mode logits with the given stochastic depth (rows matching imgs'), or none when `drops` is null.
    torch::Tensor forward(const torch::Tensor& imgs, const std::vector<DropPath>* drops);

private:
    mae_config cfg_;
    int64_t num_classes_;
    double drop_path_rate_;
    torch::Device device_;
    std::vector<Param> params_;
    mutable std::shared_mutex lock_;
    at::Generator gen_;  // stochastic depth

    torch::Tensor cls_token_, pos_embed_, patch_w_, patch_b_, fc_norm_w_, fc_norm_b_, head_w_, head_b_;
    bool probe_head_ = false;
    torch::Tensor running_mean_, running_var_;  // the probe head's BatchNorm statistics
    std::vector<Block> blocks_;

    torch::Tensor features(const torch::Tensor& imgs, const std::vector<DropPath>* drops);
};

// Label-smoothed cross-entropy averaged over the batch, as timm's LabelSmoothingCrossEntropy:
// (1 − s)·(−log p[label]) + s·mean_k(−log p[k]). logits [N, K], labels [N] int64 in [0, K).
torch::Tensor smoothed_cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels, double smoothing);

// timm's SoftTargetCrossEntropy: mean over the batch of −Σ_k targets[n, k] · log_softmax(logits)[n, k], for targets
// [N, K] that already carry any mixing and smoothing (Mixup's mixed, smoothed one-hot rows).
torch::Tensor soft_target_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace mae
