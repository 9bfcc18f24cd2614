#include "host_staging.h"

#include <c10/core/impl/VirtualGuardImpl.h>

namespace mae {

torch::Tensor HostStaging::to_device(const torch::Tensor& images, const torch::Device& device,
                                     torch::ScalarType dtype) {
    auto& b = buffers_[next_];
    next_ = (next_ + 1) % buffers_.size();
    // The copy two batches ago read this pinned buffer; it was queued long since, so this wait is rarely one.
    if (b.copied) b.copied->synchronize();
    const bool fits =
        b.pinned.defined() && b.pinned.sizes().equals(images.sizes()) && b.pinned.scalar_type() == images.scalar_type();
    if (!fits) {
        b.pinned = torch::empty(images.sizes(), images.options().pinned_memory(true));
        b.on_device = torch::empty(images.sizes(), images.options().device(device));
        b.copied.reset();
    }
    b.pinned.copy_(images);
    b.on_device.copy_(b.pinned, /*non_blocking=*/true);
    const c10::impl::VirtualGuardImpl guard(device.type());
    if (!b.copied) b.copied.emplace(device.type());
    b.copied->record(guard.getStream(device));
    return b.on_device.to(dtype);  // a conversion queued on the device, or the buffer itself
}

}  // namespace mae
