// bfloat16 mixed precision (MAE_DTYPE_BF16): the forward pass under autocast, as `with torch.autocast(device,
// dtype=torch.bfloat16):` around it. Parameters stay float32; autocast casts them per op, which ops it lowers
// (linear, conv, attention) and which it keeps in float32 being LibTorch's own lists, so the result is what
// PyTorch computes. The state is per thread: each step thread opens its own scope.
#pragma once

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

namespace mae {

class AutocastScope {
public:
    AutocastScope(bool enabled, c10::DeviceType device) : enabled_(enabled), device_(device) {
        if (!enabled_) return;
        was_enabled_ = at::autocast::is_autocast_enabled(device_);
        was_dtype_ = at::autocast::get_autocast_dtype(device_);
        at::autocast::set_autocast_enabled(device_, true);
        at::autocast::set_autocast_dtype(device_, at::kBFloat16);
        at::autocast::increment_nesting();
    }
    ~AutocastScope() {
        if (!enabled_) return;
        // the casts of the weights are cached for the scope's life: dropped on leaving, as torch.autocast does
        if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
        at::autocast::set_autocast_enabled(device_, was_enabled_);
        at::autocast::set_autocast_dtype(device_, was_dtype_);
    }
    AutocastScope(const AutocastScope&) = delete;
    AutocastScope& operator=(const AutocastScope&) = delete;

private:
    bool enabled_;
    c10::DeviceType device_;
    bool was_enabled_ = false;
    at::ScalarType was_dtype_ = at::kBFloat16;
};

}  // namespace mae
