// The C ABI, data section: augmentation, JPEG decoding, batches from shards, position tables, maskers.
#include "augment.h"
#include "c_api_internal.h"
#include "jpeg.h"
#include "pos_embed.h"
#include "rand_augment.h"
#include "resize.h"
#include "tensors.h"

using namespace mae::abi;

extern "C" {

int32_t mae_augment_crops(const mae_tensor_view* images, const mae_tensor_view* boxes, int32_t size, mae_tensor** out) {
    return guarded([&] {
        require_ptr(out, "out");
        auto imgs = mae::wrap_view(images, "images");
        auto b = mae::wrap_view(boxes, "boxes");
        mae::require(b.scalar_type() == torch::kFloat64, "boxes must be F64");
        c10::InferenceMode inference;  // no autograd bookkeeping at all
        *out = export_tensor(mae::resized_crops(imgs, b, size));
    });
}

int32_t mae_augment_erase(const mae_tensor_view* images, const mae_tensor_view* boxes, uint64_t seed,
                          mae_tensor** out) {
    return guarded([&] {
        require_ptr(out, "out");
        auto b = mae::wrap_view(boxes, "boxes");
        mae::require(b.scalar_type() == torch::kFloat64, "boxes must be F64");
        c10::InferenceMode inference;  // no autograd bookkeeping at all
        *out = export_tensor(mae::erase_boxes(mae::wrap_view(images, "images"), b, seed));
    });
}

int32_t mae_augment_mixup(const mae_tensor_view* images, double lam, mae_tensor** out) {
    return guarded([&] {
        require_ptr(out, "out");
        c10::InferenceMode inference;  // no autograd bookkeeping at all
        *out = export_tensor(mae::mixup(mae::wrap_view(images, "images"), lam));
    });
}

int32_t mae_augment_cutmix(const mae_tensor_view* images, int32_t top, int32_t left, int32_t height, int32_t width,
                           mae_tensor** out) {
    return guarded([&] {
        require_ptr(out, "out");
        c10::InferenceMode inference;  // no autograd bookkeeping at all
        *out = export_tensor(mae::cutmix(mae::wrap_view(images, "images"), top, left, height, width));
    });
}

int32_t mae_augment_rand(const mae_tensor_view* images, const mae_tensor_view* plan, const mae_tensor_view* mean,
                         const mae_tensor_view* std, mae_tensor** out) {
    return guarded([&] {
        require_ptr(out, "out");
        c10::InferenceMode inference;  // no autograd bookkeeping at all
        *out = export_tensor(mae::rand_augment(mae::wrap_view(images, "images"), mae::wrap_view(plan, "plan"),
                                               mae::wrap_view(mean, "mean"), mae::wrap_view(std, "std")));
    });
}

int32_t mae_resized_crop(const mae_tensor_view* image, const mae_tensor_view* crop, int32_t height, int32_t width,
                         int32_t flip, mae_tensor** out) {
    return guarded([&] {
        require_ptr(out, "out");
        mae::require(flip == 0 || flip == 1, "flip must be 0 or 1, got " + std::to_string(flip));
        c10::InferenceMode inference;  // no autograd bookkeeping at all
        *out = export_tensor(
            mae::resized_crop(mae::wrap_view(image, "image"), mae::wrap_view(crop, "crop"), height, width, flip == 1));
    });
}

int32_t mae_jpeg_available(int32_t* out) {
    return guarded([&] {
        require_ptr(out, "out");
        *out = mae::jpeg_available() ? 1 : 0;
    });
}

int32_t mae_decode_jpeg(const mae_tensor_view* file, mae_tensor** out) {
    return guarded([&] {
        require_ptr(out, "out");
        *out = export_tensor(mae::decode_jpeg(mae::wrap_view(file, "file")));
    });
}

int32_t mae_gather_normalize(const mae_tensor_view* images, const mae_tensor_view* indices, const mae_tensor_view* mean,
                             const mae_tensor_view* std, mae_tensor** out) {
    return guarded([&] {
        require_ptr(out, "out");
        c10::InferenceMode inference;  // no autograd bookkeeping at all
        *out = export_tensor(mae::gather_normalize(mae::wrap_view(images, "images"), mae::wrap_view(indices, "indices"),
                                                   mae::wrap_view(mean, "mean"), mae::wrap_view(std, "std")));
    });
}

int32_t mae_sincos_pos_embed(int32_t embed_dim, int32_t grid, mae_tensor** out) {
    return guarded([&] {
        require_ptr(out, "out");
        mae::require(embed_dim > 0 && embed_dim % 4 == 0,
                     "embed_dim must be a positive multiple of 4, got " + std::to_string(embed_dim));
        mae::require(grid >= 1, "grid must be >= 1, got " + std::to_string(grid));
        *out = export_tensor(mae::sincos_pos_embed_2d(embed_dim, grid).unsqueeze(0));
    });
}

int32_t mae_resize_pos_embed(const mae_tensor_view* pos_embed, int32_t new_grid, mae_tensor** out) {
    return guarded([&] {
        require_ptr(out, "out");
        c10::InferenceMode inference;  // no autograd bookkeeping at all
        *out = export_tensor(mae::resize_pos_embed(mae::wrap_view(pos_embed, "pos_embed"), new_grid));
    });
}

int32_t mae_masker_random(double mask_ratio, uint64_t seed, mae_masker** out) {
    return guarded([&] {
        require_ptr(out, "out");
        *out = new mae_masker{std::make_unique<mae::RandomMasker>(mask_ratio, seed)};
    });
}

int32_t mae_masker_blockwise(double mask_ratio, uint64_t seed, mae_masker** out) {
    return guarded([&] {
        require_ptr(out, "out");
        *out = new mae_masker{std::make_unique<mae::BlockMasker>(mask_ratio, seed)};
    });
}

int32_t mae_masker_grid(double mask_ratio, uint64_t seed, mae_masker** out) {
    return guarded([&] {
        require_ptr(out, "out");
        *out = new mae_masker{std::make_unique<mae::GridMasker>(mask_ratio, seed)};
    });
}

int32_t mae_masker_from_noise(const mae_tensor_view* noise, double mask_ratio, mae_masker** out) {
    return guarded([&] {
        require_ptr(out, "out");
        auto t = mae::wrap_view(noise, "noise");
        mae::require(t.dim() == 2, "noise must be [N, L], got " + mae::shape_string(t.sizes()));
        mae::require(t.is_floating_point(), "noise must be F32 or F64");
        mae::require(torch::isfinite(t).all().item<bool>(), "noise must be finite");
        *out = new mae_masker{std::make_unique<mae::FixedNoiseMasker>(t.clone(), mask_ratio)};
    });
}

int32_t mae_masker_free(mae_masker* m) {
    return guarded([&] { delete m; });
}

int32_t mae_masker_state_get(const mae_masker* m, mae_tensor** out) {
    return guarded([&] {
        require_ptr(m, "masker");
        require_ptr(out, "out");
        *out = export_tensor(m->impl->state());
    });
}

int32_t mae_masker_state_set(mae_masker* m, const mae_tensor_view* state) {
    return guarded([&] {
        require_ptr(m, "masker");
        m->impl->set_state(mae::wrap_view(state, "state"));
    });
}

}  // extern "C"
