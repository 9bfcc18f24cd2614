// Host-to-device copies of image batches through pinned memory, double-buffered. A copy from pageable memory
// makes the host wait for the copy (and, on CUDA, for the stream's earlier work); one from pinned memory is
// queued like a kernel, so the host goes on to queue the forward pass behind it.
#pragma once

#include <torch/torch.h>

#include <array>
#include <optional>

#include <c10/core/Event.h>

namespace mae {

class HostStaging {
public:
    // `images` (a CPU tensor) on `device` as `dtype`. The result is the device's own buffer: it stays valid until
    // the call after next, which reuses it behind everything queued before it on the stream.
    torch::Tensor to_device(const torch::Tensor& images, const torch::Device& device, torch::ScalarType dtype);

private:
    struct Buffer {
        torch::Tensor pinned, on_device;
        std::optional<c10::Event> copied;  // recorded after the copy out of `pinned` was queued
    };
    std::array<Buffer, 2> buffers_;
    size_t next_ = 0;
};

}  // namespace mae
