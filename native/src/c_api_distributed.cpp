// The C ABI, distributed section: process groups, their collectives, and data-parallel trainers.
#include <mutex>
#include <shared_mutex>

#include "c_api_internal.h"
#include "tensors.h"

namespace {

using namespace mae::abi;

// Runs an in-place collective on caller memory through a tensor on the group's device.
template <class Collective>
void in_place(mae_process_group* g, const mae_tensor_view* inout, Collective&& collective) {
    require_ptr(g, "group");
    auto host = mae::wrap_view(inout, "inout");
    auto on_device = host.to(g->impl->device()).contiguous();
    collective(on_device);
    if (!on_device.is_same(host)) host.copy_(on_device);
}

}  // namespace

using namespace mae::abi;

extern "C" {

int32_t mae_process_group_backend_available(int32_t backend, int32_t* out) {
    return guarded([&] {
        require_ptr(out, "out");
        mae::require(backend == MAE_BACKEND_GLOO || backend == MAE_BACKEND_NCCL,
                     "backend must be MAE_BACKEND_GLOO or MAE_BACKEND_NCCL, got " + std::to_string(backend));
        *out = mae::backend_available(backend) ? 1 : 0;
    });
}

int32_t mae_process_group_create(const mae_process_group_config* config, mae_process_group** out) {
    return guarded([&] {
        require_ptr(config, "config");
        require_ptr(out, "out");
        require_ptr(config->master_addr, "config.master_addr");
        mae::ProcessGroupOptions options{config->backend,
                                         config->master_addr,
                                         config->master_port,
                                         config->rank,
                                         config->world_size,
                                         std::chrono::milliseconds(config->timeout_ms),
                                         config->interface ? config->interface : "",
                                         device_of(&config->device)};
        *out = new mae_process_group{std::make_shared<mae::ProcessGroup>(options)};
    });
}

int32_t mae_process_group_free(mae_process_group* g) {
    return guarded([&] { delete g; });
}

int32_t mae_process_group_barrier(mae_process_group* g) {
    return guarded([&] {
        require_ptr(g, "group");
        g->impl->barrier();
    });
}

int32_t mae_process_group_all_reduce_sum(mae_process_group* g, const mae_tensor_view* inout) {
    return guarded([&] {
        require_ptr(inout, "inout");
        mae::require(inout->dtype != MAE_DTYPE_U8, "all_reduce_sum needs F32, F64 or I64 values");
        in_place(g, inout, [&](torch::Tensor& t) { g->impl->all_reduce_sum(t); });
    });
}

int32_t mae_process_group_broadcast(mae_process_group* g, const mae_tensor_view* inout, int32_t root) {
    return guarded([&] { in_place(g, inout, [&](torch::Tensor& t) { g->impl->broadcast(t, root); }); });
}

int32_t mae_process_group_all_gather(mae_process_group* g, const mae_tensor_view* in, mae_tensor** out) {
    return guarded([&] {
        require_ptr(g, "group");
        require_ptr(out, "out");
        auto t = mae::wrap_view(in, "in").to(g->impl->device());
        *out = export_tensor(g->impl->all_gather(t));
    });
}

int32_t mae_training_set_process_group(mae_training* t, mae_process_group* group, int64_t bucket_bytes) {
    return guarded([&] {
        require_ptr(t, "training");
        require_ptr(group, "group");
        t->impl->set_process_group(group->impl, bucket_bytes);
    });
}

}  // extern "C"
