// What every pass over a caller's batch needs, whether a model, a classifier or a training runs it: the images
// checked and brought to the network, labels and soft targets checked, gradients cleared. Below model, classifier
// and training alike.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "mae.h"
#include "vit.h"

namespace mae {

// Brings caller images to the network's dtype and device (a no-op, hence zero-copy, when they match)
// after checking their shape against the configuration.
torch::Tensor prepare_images(const mae_config& config, const torch::Device& device, torch::ScalarType dtype,
                             const torch::Tensor& images);

// Labels [n] I64 in [0, num_classes).
void check_labels(const torch::Tensor& labels, int64_t n, int64_t num_classes);

// Soft targets [n, num_classes], F32 or F64, finite, non-negative, rows summing to 1.
void check_targets(const torch::Tensor& targets, int64_t n, int64_t num_classes);

// Sets every trained parameter's gradient to none.
void clear_gradients(std::vector<Param>& params);

}  // namespace mae
