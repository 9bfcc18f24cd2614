// The C ABI, inference-encoder section (mae_encoder_*).
#include <mutex>
#include <shared_mutex>

#include "c_api_internal.h"
#include "tensors.h"

using namespace mae::abi;

extern "C" {

int32_t mae_encoder_create(const mae_config* config, const mae_device* device, int32_t kind, mae_encoder** out) {
    return guarded([&] {
        require_ptr(config, "config");
        require_ptr(out, "out");
        mae::require(kind == MAE_ENCODER_MAE || kind == MAE_ENCODER_CLASSIFIER,
                     "kind must be MAE_ENCODER_MAE or MAE_ENCODER_CLASSIFIER, got " + std::to_string(kind));
        auto tail = kind == MAE_ENCODER_MAE ? mae::VitEncoder::Tail::Norm : mae::VitEncoder::Tail::PooledFcNorm;
        *out = new mae_encoder(std::make_unique<mae::VitEncoder>(*config, device_of(device), tail));
    });
}

int32_t mae_encoder_free(mae_encoder* e) {
    return guarded([&] { delete e; });
}

int32_t mae_encoder_params(mae_encoder* e, mae_params** out) {
    return guarded([&] {
        require_ptr(e, "encoder");
        require_ptr(out, "out");
        *out = &e->params;
    });
}

int32_t mae_encoder_bf16_set(mae_encoder* e, int32_t on) {
    return guarded([&] {
        require_ptr(e, "encoder");
        mae::require(on == 0 || on == 1, "on must be 0 or 1, got " + std::to_string(on));
        std::unique_lock<std::shared_mutex> lock(e->impl->lock());
        e->impl->set_bf16(on == 1);
    });
}

int32_t mae_encoder_embed(mae_encoder* e, const mae_tensor_view* images, int32_t pool, mae_tensor** out) {
    return guarded([&] {
        require_ptr(e, "encoder");
        require_ptr(out, "out");
        *out = export_tensor(e->impl->embed(mae::wrap_view(images, "images"), pool));
    });
}

int32_t mae_encoder_embed_into(mae_encoder* e, const mae_tensor_view* images, int32_t pool,
                               const mae_tensor_view* out) {
    return guarded([&] {
        require_ptr(e, "encoder");
        auto target = mae::wrap_view(out, "out");
        auto result = e->impl->embed(mae::wrap_view(images, "images"), pool);
        mae::copy_checked(target, result, "out");
    });
}

}  // extern "C"
