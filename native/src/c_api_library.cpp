// The C ABI, library section: versions, threads, devices, the last error, the presets, and the tensors handed out.
#include <torch/version.h>

#include <mutex>

#include "c_api_internal.h"
#include "presets.h"
#include "tensors.h"

namespace mae::abi {

namespace {
thread_local std::string last_error;
}  // namespace

int32_t fail(int32_t status, const std::string& message) {
    last_error = message;
    return status;
}

torch::Device device_of(const mae_device* d) {
    require_ptr(d, "device");
    if (d->type == MAE_DEVICE_CPU) return torch::Device(torch::kCPU);
    mae::require(d->type == MAE_DEVICE_CUDA,
                 "device.type must be MAE_DEVICE_CPU or MAE_DEVICE_CUDA, got " + std::to_string(d->type));
    if (!torch::cuda::is_available())
        throw mae::InvalidArgument("a CUDA device was asked for but this libtorch sees none");
    const auto count = static_cast<int32_t>(torch::cuda::device_count());
    mae::require(d->index >= 0 && d->index < count,
                 "device.index must be in [0, " + std::to_string(count) + "), got " + std::to_string(d->index));
    // float32 is IEEE float32 on CUDA too: cuDNN's convolutions (the patch embedding) would use TF32 by default;
    // LibTorch's matrix products already do not. bfloat16 autocast is how to trade precision for speed.
    static std::once_flag ieee_float32;
    std::call_once(ieee_float32, [] { at::globalContext().setAllowTF32CuDNN(false); });
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(d->index));
}

mae_tensor* export_tensor(const torch::Tensor& t) { return new mae_tensor{t.detach().to(torch::kCPU).contiguous()}; }

}  // namespace mae::abi

using namespace mae::abi;

extern "C" {

int32_t mae_abi_version(void) { return MAE_ABI_VERSION; }

const char* mae_last_error(void) { return last_error.c_str(); }

int32_t mae_torch_version(const char** out) {
    return guarded([&] {
        require_ptr(out, "out");
        static const std::string version = std::to_string(TORCH_VERSION_MAJOR) + "." +
                                           std::to_string(TORCH_VERSION_MINOR) + "." +
                                           std::to_string(TORCH_VERSION_PATCH);
        *out = version.c_str();
    });
}

int32_t mae_cuda_device_count(int32_t* out) {
    return guarded([&] {
        require_ptr(out, "out");
        *out = torch::cuda::is_available() ? static_cast<int32_t>(torch::cuda::device_count()) : 0;
    });
}

int32_t mae_set_num_threads(int32_t n) {
    return guarded([&] {
        mae::require(n >= 1, "thread count must be >= 1, got " + std::to_string(n));
        torch::set_num_threads(n);
    });
}

int32_t mae_get_num_threads(int32_t* out) {
    return guarded([&] {
        require_ptr(out, "out");
        *out = static_cast<int32_t>(torch::get_num_threads());
    });
}

int32_t mae_preset_count(int32_t* out) {
    return guarded([&] {
        require_ptr(out, "out");
        *out = static_cast<int32_t>(mae::presets().size());
    });
}

int32_t mae_preset_info(int32_t index, const char** name_out, const char** description_out) {
    return guarded([&] {
        require_ptr(name_out, "name_out");
        require_ptr(description_out, "description_out");
        const auto all = mae::presets();
        mae::require(index >= 0 && static_cast<size_t>(index) < all.size(),
                     "preset index must be in [0, " + std::to_string(all.size()) + "), got " + std::to_string(index));
        *name_out = all[index].name;
        *description_out = all[index].description;
    });
}

int32_t mae_preset_config(const char* name, mae_config* out) {
    return guarded([&] {
        require_ptr(name, "name");
        require_ptr(out, "out");
        std::string names;
        for (const auto& p : mae::presets()) {
            if (std::string(name) == p.name) {
                *out = p.config;
                return;
            }
            names += (names.empty() ? "" : ", ") + std::string(p.name);
        }
        throw mae::InvalidArgument("unknown preset '" + std::string(name) + "' (" + names + ")");
    });
}

int32_t mae_tensor_view_of(const mae_tensor* t, mae_tensor_view* out) {
    return guarded([&] {
        require_ptr(t, "tensor");
        require_ptr(out, "out");
        mae::describe(t->value, out);
        out->data = t->value.data_ptr();
    });
}

int32_t mae_tensor_free(mae_tensor* t) {
    return guarded([&] { delete t; });
}

}  // extern "C"
