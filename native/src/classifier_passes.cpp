// The passes callers run on a classifier (the C ABI's logits, features, loss and generator state): each takes the
// classifier's lock itself, shared for evaluation and exclusive where gradients or the generator are written, and
// brings the caller's images to the classifier's dtype and device.
#include <mutex>
#include <shared_mutex>

#include "batches.h"
#include "classifier.h"

namespace mae {

torch::Tensor VitClassifier::run_logits(const torch::Tensor& images) {
    std::shared_lock<std::shared_mutex> lock(lock_);
    c10::InferenceMode inference;
    return forward(prepare_images(cfg_, device_, dtype(), images), /*train=*/false);
}

torch::Tensor VitClassifier::run_features(const torch::Tensor& images) {
    std::shared_lock<std::shared_mutex> lock(lock_);
    c10::InferenceMode inference;
    return forward_features(prepare_images(cfg_, device_, dtype(), images), /*train=*/false);
}

double VitClassifier::run_loss(const torch::Tensor& images, const torch::Tensor& labels, double smoothing,
                               bool backward) {
    auto loss_of = [&] {
        auto imgs = prepare_images(cfg_, device_, dtype(), images);
        check_labels(labels, imgs.size(0), num_classes_);
        auto logits = forward(imgs, /*train=*/backward);
        return smoothed_cross_entropy(logits, labels.to(device_), smoothing);
    };
    if (backward) {
        std::unique_lock<std::shared_mutex> lock(lock_);
        clear_gradients(params_);
        auto loss = loss_of();
        loss.backward();
        return loss.item<double>();
    }
    // Evaluation never draws from the stochastic-depth generator, so readers may share the lock.
    std::shared_lock<std::shared_mutex> lock(lock_);
    c10::InferenceMode inference;
    return loss_of().item<double>();
}

torch::Tensor VitClassifier::locked_rng_state() {
    std::unique_lock<std::shared_mutex> lock(lock_);
    return rng_state();
}

void VitClassifier::locked_set_rng_state(const torch::Tensor& state) {
    std::unique_lock<std::shared_mutex> lock(lock_);
    set_rng_state(state);
}

}  // namespace mae
