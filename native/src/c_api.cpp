// The C ABI: the only extern "C" code. Every entry point validates its arguments before libtorch sees
// them and turns every exception into a status code plus a thread-local message.
#include <torch/torch.h>
#include <torch/version.h>

#include <cmath>
#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "augment.h"
#include "rand_augment.h"
#include "resize.h"
#include "classifier.h"
#include "distributed.h"
#include "errors.h"
#include "finetune.h"
#include "jpeg.h"
#include "mae.h"
#include "masking.h"
#include "model.h"
#include "pos_embed.h"
#include "tensors.h"
#include "trainer.h"

struct mae_model {
    std::shared_ptr<mae::MaeModel> impl;
    std::atomic<uint64_t> last_input_address{0};
};
struct mae_masker {
    std::unique_ptr<mae::Masker> impl;
};
struct mae_trainer {
    std::unique_ptr<mae::Trainer> impl;
};
struct mae_tensor {
    torch::Tensor value;  // host, contiguous
};
struct mae_classifier {
    std::shared_ptr<mae::VitClassifier> impl;
};
struct mae_finetuner {
    std::unique_ptr<mae::FineTuner> impl;
};
struct mae_process_group {
    std::shared_ptr<mae::ProcessGroup> impl;  // shared with the trainers made data-parallel over it
};

namespace {

thread_local std::string last_error;

int32_t fail(int32_t status, const std::string& message) {
    last_error = message;
    return status;
}

// Runs `body`, mapping every exception to a status; no exception crosses the boundary.
template <class Body>
int32_t guarded(Body&& body) {
    try {
        body();
        return MAE_OK;
    } catch (const mae::InvalidArgument& e) {
        return fail(MAE_ERR_INVALID_ARGUMENT, e.what());
    } catch (const mae::InvalidState& e) {
        return fail(MAE_ERR_INVALID_STATE, e.what());
    } catch (const mae::Unsupported& e) {
        return fail(MAE_ERR_UNSUPPORTED, e.what());
    } catch (const mae::PeerFailure& e) {
        return fail(MAE_ERR_PEER_FAILURE, e.what());
    } catch (const c10::OutOfMemoryError& e) {
        return fail(MAE_ERR_OUT_OF_MEMORY, e.what_without_backtrace());
    } catch (const c10::Error& e) {
        const std::string msg = e.what_without_backtrace();
        const bool oom = msg.find("out of memory") != std::string::npos;
        return fail(oom ? MAE_ERR_OUT_OF_MEMORY : MAE_ERR_INTERNAL, msg);
    } catch (const std::bad_alloc&) {
        return fail(MAE_ERR_OUT_OF_MEMORY, "out of host memory");
    } catch (const std::exception& e) {
        return fail(MAE_ERR_INTERNAL, e.what());
    } catch (...) {
        return fail(MAE_ERR_INTERNAL, "unknown native error");
    }
}

template <class T>
void require_ptr(const T* p, const char* what) {
    mae::require(p != nullptr, std::string(what) + " must not be null");
}

torch::Device device_of(const mae_device* d) {
    require_ptr(d, "device");
    if (d->type == MAE_DEVICE_CPU) return torch::Device(torch::kCPU);
    mae::require(d->type == MAE_DEVICE_CUDA, "device.type must be MAE_DEVICE_CPU or MAE_DEVICE_CUDA, got " +
                                                 std::to_string(d->type));
    if (!torch::cuda::is_available())
        throw mae::InvalidArgument("a CUDA device was asked for but this libtorch sees none");
    const auto count = static_cast<int32_t>(torch::cuda::device_count());
    mae::require(d->index >= 0 && d->index < count, "device.index must be in [0, " + std::to_string(count) +
                                                        "), got " + std::to_string(d->index));
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(d->index));
}

// A host, contiguous, detached copy the caller owns (no copy when it already is one).
mae_tensor* export_tensor(const torch::Tensor& t) {
    return new mae_tensor{t.detach().to(torch::kCPU).contiguous()};
}

// Parameter access shared by models and classifiers (both have params(), param(name) and lock()).
template <class Net>
void describe_param(const Net& net, int64_t index, const char** name_out, mae_tensor_view* shape_out,
                    int32_t* trainable_out) {
    const auto& params = net.params();
    mae::require(index >= 0 && index < static_cast<int64_t>(params.size()),
                 "index must be in [0, " + std::to_string(params.size()) + "), got " + std::to_string(index));
    const auto& p = params[static_cast<size_t>(index)];
    if (name_out) *name_out = p.name.c_str();
    if (shape_out) mae::describe(p.value, shape_out);
    if (trainable_out) *trainable_out = p.trainable ? 1 : 0;
}

template <class Net>
mae_tensor* copy_param(const Net& net, const char* name) {
    require_ptr(name, "name");
    std::shared_lock<std::shared_mutex> lock(net.lock());
    return export_tensor(net.param(name).value.clone());
}

template <class Net>
void overwrite_param(Net& net, const char* name, const mae_tensor_view* value) {
    require_ptr(name, "name");
    auto src = mae::wrap_view(value, "value");
    std::unique_lock<std::shared_mutex> lock(net.lock());
    const auto& p = net.param(name);
    mae::require(src.sizes().equals(p.value.sizes()), std::string("parameter '") + name + "' has shape " +
                                                          mae::shape_string(p.value.sizes()) + ", got " +
                                                          mae::shape_string(src.sizes()));
    mae::require(src.is_floating_point(), std::string("parameter '") + name + "' needs F32 or F64 values");
    torch::NoGradGuard no_grad;
    p.value.copy_(src);
}

template <class Net>
mae_tensor* copy_grad(const Net& net, const char* name) {
    require_ptr(name, "name");
    std::shared_lock<std::shared_mutex> lock(net.lock());
    const auto& p = net.param(name);
    if (!p.trainable) throw mae::InvalidArgument(std::string("parameter '") + name + "' is not trained");
    const auto& g = p.value.grad();
    if (!g.defined())
        throw mae::InvalidState(std::string("no gradient for '") + name +
                                "': run a forward pass with MAE_FORWARD_BACKWARD first");
    return export_tensor(g.clone());
}

// Optimiser state access shared by trainers and fine-tuners (both have optimizer() and model()).
template <class Train>
void describe_state(Train& t, int64_t index, const char** name_out, mae_tensor_view* shape_out) {
    const auto& names = t.optimizer().state_names();
    mae::require(index >= 0 && index < static_cast<int64_t>(names.size()),
                 "index must be in [0, " + std::to_string(names.size()) + "), got " + std::to_string(index));
    const auto& name = names[static_cast<size_t>(index)];
    if (name_out) *name_out = name.c_str();
    if (shape_out) mae::describe(t.optimizer().state(name), shape_out);
}

template <class Train>
mae_tensor* copy_state(Train& t, const char* name) {
    require_ptr(name, "name");
    std::shared_lock<std::shared_mutex> lock(t.model().lock());
    return export_tensor(t.optimizer().state(name).clone());
}

template <class Train>
void overwrite_state(Train& t, const char* name, const mae_tensor_view* value) {
    require_ptr(name, "name");
    auto src = mae::wrap_view(value, "value");
    std::unique_lock<std::shared_mutex> lock(t.model().lock());
    auto& state = t.optimizer().state(name);
    mae::require(src.sizes().equals(state.sizes()), std::string("optimiser state '") + name + "' has shape " +
                                                        mae::shape_string(state.sizes()) + ", got " +
                                                        mae::shape_string(src.sizes()));
    mae::require(src.is_floating_point(), std::string("optimiser state '") + name + "' needs F32 or F64 values");
    if (std::string(name) == "step") {
        const double v = src.to(torch::kFloat64).item<double>();
        mae::require(v >= 0 && v == std::floor(v) && v < 9007199254740992.0,
                     "optimiser state 'step' counts updates: a whole number >= 0, got " + std::to_string(v));
    }
    torch::NoGradGuard no_grad;
    state.copy_(src);
}

// The encoder's features [N, 1 + L, D] of caller images, shaped by `pool` (e.g. into [N, D]).
template <class Pool>
int32_t encode_with(mae_model* m, const mae_tensor_view* images, mae_tensor** out, Pool&& pool) {
    return guarded([&] {
        require_ptr(m, "model");
        require_ptr(out, "out");
        auto raw = mae::wrap_view(images, "images");
        auto& model = *m->impl;
        std::shared_lock<std::shared_mutex> lock(model.lock());
        c10::InferenceMode inference;  // no autograd bookkeeping at all
        auto imgs = mae::prepare_images(model, raw);
        m->last_input_address = reinterpret_cast<uint64_t>(imgs.data_ptr());
        *out = export_tensor(pool(model.encode(imgs)));
    });
}

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

int32_t mae_augment_erase(const mae_tensor_view* images, const mae_tensor_view* boxes, uint64_t seed, mae_tensor** out) {
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
        *out = export_tensor(mae::resized_crop(mae::wrap_view(image, "image"), mae::wrap_view(crop, "crop"), height,
                                               width, flip == 1));
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
        mae::require(embed_dim > 0 && embed_dim % 4 == 0, "embed_dim must be a positive multiple of 4, got " +
                                                               std::to_string(embed_dim));
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

int32_t mae_model_create(const mae_config* config, const mae_device* device, uint64_t seed, mae_model** out) {
    return guarded([&] {
        require_ptr(config, "config");
        require_ptr(out, "out");
        mae::validate_config(*config);
        auto dev = device_of(device);
        auto model = std::make_unique<mae_model>();
        model->impl = std::make_shared<mae::MaeModel>(*config, dev, seed);
        *out = model.release();
    });
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

int32_t mae_model_free(mae_model* m) {
    return guarded([&] { delete m; });
}

int32_t mae_model_config(const mae_model* m, mae_config* out) {
    return guarded([&] {
        require_ptr(m, "model");
        require_ptr(out, "out");
        *out = m->impl->config();
    });
}

int32_t mae_model_param_count(const mae_model* m, int64_t* out) {
    return guarded([&] {
        require_ptr(m, "model");
        require_ptr(out, "out");
        *out = static_cast<int64_t>(m->impl->params().size());
    });
}

int32_t mae_model_param_info(const mae_model* m, int64_t index, const char** name_out, mae_tensor_view* shape_out,
                             int32_t* trainable_out) {
    return guarded([&] {
        require_ptr(m, "model");
        describe_param(*m->impl, index, name_out, shape_out, trainable_out);
    });
}

int32_t mae_model_param_get(const mae_model* m, const char* name, mae_tensor** out) {
    return guarded([&] {
        require_ptr(m, "model");
        require_ptr(out, "out");
        *out = copy_param(*m->impl, name);
    });
}

int32_t mae_model_param_set(mae_model* m, const char* name, const mae_tensor_view* value) {
    return guarded([&] {
        require_ptr(m, "model");
        overwrite_param(*m->impl, name, value);
    });
}

int32_t mae_model_grad_get(const mae_model* m, const char* name, mae_tensor** out) {
    return guarded([&] {
        require_ptr(m, "model");
        require_ptr(out, "out");
        *out = copy_grad(*m->impl, name);
    });
}

int32_t mae_model_forward(mae_model* m, const mae_tensor_view* images, mae_masker* masker, int32_t flags,
                          mae_forward_result* out) {
    return guarded([&] {
        require_ptr(m, "model");
        require_ptr(masker, "masker");
        require_ptr(out, "out");
        mae::require(flags == MAE_FORWARD_DEFAULT || flags == MAE_FORWARD_BACKWARD,
                     "flags must be MAE_FORWARD_DEFAULT or MAE_FORWARD_BACKWARD, got " + std::to_string(flags));
        auto& model = *m->impl;
        auto raw = mae::wrap_view(images, "images");
        mae::ForwardOutput result;
        if (flags == MAE_FORWARD_BACKWARD) {
            std::unique_lock<std::shared_mutex> lock(model.lock());
            auto imgs = mae::prepare_images(model, raw);
            m->last_input_address = reinterpret_cast<uint64_t>(imgs.data_ptr());
            mae::clear_gradients(model);
            result = mae::forward_backward(model, imgs, *masker->impl);
        } else {
            std::shared_lock<std::shared_mutex> lock(model.lock());
            c10::InferenceMode inference;  // no autograd bookkeeping at all
            auto imgs = mae::prepare_images(model, raw);
            m->last_input_address = reinterpret_cast<uint64_t>(imgs.data_ptr());
            auto noise = masker->impl->noise(imgs.size(0), model.num_patches(), model.device());
            result = model.forward(imgs, noise, masker->impl->mask_ratio());
        }
        auto pred = std::unique_ptr<mae_tensor>(export_tensor(result.pred));
        auto mask = std::unique_ptr<mae_tensor>(export_tensor(result.mask));
        auto ids = std::unique_ptr<mae_tensor>(export_tensor(result.ids_restore));
        auto latent = std::unique_ptr<mae_tensor>(export_tensor(result.latent));
        out->loss = result.loss.item<double>();
        out->pred = pred.release();
        out->mask = mask.release();
        out->ids_restore = ids.release();
        out->latent = latent.release();
    });
}


int32_t mae_model_encode(mae_model* m, const mae_tensor_view* images, mae_tensor** out) {
    return encode_with(m, images, out, [](const torch::Tensor& tokens) { return tokens; });
}

int32_t mae_model_encode_pooled(mae_model* m, const mae_tensor_view* images, int32_t pool, mae_tensor** out) {
    if (pool != MAE_POOL_CLS && pool != MAE_POOL_MEAN)
        return fail(MAE_ERR_INVALID_ARGUMENT, "pool must be MAE_POOL_CLS or MAE_POOL_MEAN, got " + std::to_string(pool));
    return encode_with(m, images, out, [pool](const torch::Tensor& tokens) {
        return pool == MAE_POOL_CLS ? tokens.select(1, 0) : tokens.slice(1, 1).mean(1);  // [N, 1 + L, D] -> [N, D]
    });
}

int32_t mae_model_last_input_address(const mae_model* m, uint64_t* out) {
    return guarded([&] {
        require_ptr(m, "model");
        require_ptr(out, "out");
        *out = m->last_input_address.load();
    });
}

int32_t mae_trainer_create(mae_model* m, const mae_adamw_config* config, mae_trainer** out) {
    return guarded([&] {
        require_ptr(m, "model");
        require_ptr(config, "config");
        require_ptr(out, "out");
        std::unique_lock<std::shared_mutex> lock(m->impl->lock());
        *out = new mae_trainer{std::make_unique<mae::Trainer>(m->impl, *config)};
    });
}

int32_t mae_trainer_free(mae_trainer* t) {
    return guarded([&] { delete t; });
}

int32_t mae_trainer_set_lr(mae_trainer* t, double lr) {
    return guarded([&] {
        require_ptr(t, "trainer");
        std::unique_lock<std::shared_mutex> lock(t->impl->model().lock());
        t->impl->set_lr(lr);
    });
}

int32_t mae_trainer_step(mae_trainer* t, const mae_tensor_view* images, mae_masker* masker, double* loss_out) {
    return guarded([&] {
        require_ptr(t, "trainer");
        require_ptr(masker, "masker");
        require_ptr(loss_out, "loss_out");
        auto raw = mae::wrap_view(images, "images");
        *loss_out = t->impl->step(raw, *masker->impl);
    });
}

int32_t mae_trainer_step_count(const mae_trainer* t, int64_t* out) {
    return guarded([&] {
        require_ptr(t, "trainer");
        require_ptr(out, "out");
        *out = t->impl->step_count();
    });
}

int32_t mae_trainer_skipped_count(const mae_trainer* t, int64_t* out) {
    return guarded([&] {
        require_ptr(t, "trainer");
        require_ptr(out, "out");
        *out = t->impl->skipped_updates();
    });
}

int32_t mae_trainer_set_step_count(mae_trainer* t, int64_t step) {
    return guarded([&] {
        require_ptr(t, "trainer");
        std::unique_lock<std::shared_mutex> lock(t->impl->model().lock());
        t->impl->set_step_count(step);
    });
}

int32_t mae_trainer_accumulate(mae_trainer* t, const mae_tensor_view* images, mae_masker* masker, double loss_scale,
                               int32_t flags, double* loss_out) {
    return guarded([&] {
        require_ptr(t, "trainer");
        require_ptr(masker, "masker");
        require_ptr(loss_out, "loss_out");
        mae::require(flags == MAE_ACCUMULATE_DEFAULT || flags == MAE_ACCUMULATE_LAST,
                     "flags must be MAE_ACCUMULATE_DEFAULT or MAE_ACCUMULATE_LAST, got " + std::to_string(flags));
        auto raw = mae::wrap_view(images, "images");
        *loss_out = t->impl->accumulate(raw, *masker->impl, loss_scale, flags == MAE_ACCUMULATE_LAST);
    });
}

int32_t mae_trainer_apply(mae_trainer* t) {
    return guarded([&] {
        require_ptr(t, "trainer");
        t->impl->apply();
    });
}

int32_t mae_trainer_state_count(const mae_trainer* t, int64_t* out) {
    return guarded([&] {
        require_ptr(t, "trainer");
        require_ptr(out, "out");
        *out = static_cast<int64_t>(t->impl->optimizer().state_names().size());
    });
}

int32_t mae_trainer_state_info(const mae_trainer* t, int64_t index, const char** name_out, mae_tensor_view* shape_out) {
    return guarded([&] {
        require_ptr(t, "trainer");
        describe_state(*t->impl, index, name_out, shape_out);
    });
}

int32_t mae_trainer_state_get(const mae_trainer* t, const char* name, mae_tensor** out) {
    return guarded([&] {
        require_ptr(t, "trainer");
        require_ptr(out, "out");
        *out = copy_state(*t->impl, name);
    });
}

int32_t mae_trainer_state_set(mae_trainer* t, const char* name, const mae_tensor_view* value) {
    return guarded([&] {
        require_ptr(t, "trainer");
        overwrite_state(*t->impl, name, value);
    });
}

int32_t mae_classifier_create(const mae_model* encoder, int32_t num_classes, double drop_path_rate, uint64_t seed,
                              mae_classifier** out) {
    return guarded([&] {
        require_ptr(encoder, "encoder");
        require_ptr(out, "out");
        std::shared_lock<std::shared_mutex> lock(encoder->impl->lock());
        auto impl = std::make_shared<mae::VitClassifier>(*encoder->impl, num_classes, drop_path_rate, seed);
        *out = new mae_classifier{std::move(impl)};
    });
}

int32_t mae_classifier_free(mae_classifier* c) {
    return guarded([&] { delete c; });
}

int32_t mae_classifier_num_classes(const mae_classifier* c, int32_t* out) {
    return guarded([&] {
        require_ptr(c, "classifier");
        require_ptr(out, "out");
        *out = static_cast<int32_t>(c->impl->num_classes());
    });
}

int32_t mae_classifier_rng_state_get(mae_classifier* c, mae_tensor** out) {
    return guarded([&] {
        require_ptr(c, "classifier");
        require_ptr(out, "out");
        std::unique_lock<std::shared_mutex> lock(c->impl->lock());
        *out = export_tensor(c->impl->rng_state());
    });
}

int32_t mae_classifier_rng_state_set(mae_classifier* c, const mae_tensor_view* state) {
    return guarded([&] {
        require_ptr(c, "classifier");
        auto s = mae::wrap_view(state, "state");
        std::unique_lock<std::shared_mutex> lock(c->impl->lock());
        c->impl->set_rng_state(s);
    });
}

int32_t mae_classifier_param_count(const mae_classifier* c, int64_t* out) {
    return guarded([&] {
        require_ptr(c, "classifier");
        require_ptr(out, "out");
        *out = static_cast<int64_t>(c->impl->params().size());
    });
}

int32_t mae_classifier_param_info(const mae_classifier* c, int64_t index, const char** name_out,
                                  mae_tensor_view* shape_out, int32_t* trainable_out) {
    return guarded([&] {
        require_ptr(c, "classifier");
        describe_param(*c->impl, index, name_out, shape_out, trainable_out);
    });
}

int32_t mae_classifier_param_get(const mae_classifier* c, const char* name, mae_tensor** out) {
    return guarded([&] {
        require_ptr(c, "classifier");
        require_ptr(out, "out");
        *out = copy_param(*c->impl, name);
    });
}

int32_t mae_classifier_param_set(mae_classifier* c, const char* name, const mae_tensor_view* value) {
    return guarded([&] {
        require_ptr(c, "classifier");
        overwrite_param(*c->impl, name, value);
    });
}

int32_t mae_classifier_grad_get(const mae_classifier* c, const char* name, mae_tensor** out) {
    return guarded([&] {
        require_ptr(c, "classifier");
        require_ptr(out, "out");
        *out = copy_grad(*c->impl, name);
    });
}

int32_t mae_classifier_logits(mae_classifier* c, const mae_tensor_view* images, mae_tensor** out) {
    return guarded([&] {
        require_ptr(c, "classifier");
        require_ptr(out, "out");
        auto raw = mae::wrap_view(images, "images");
        auto& model = *c->impl;
        std::shared_lock<std::shared_mutex> lock(model.lock());
        c10::InferenceMode inference;  // no autograd bookkeeping at all
        auto imgs = mae::prepare_images(model.config(), model.device(), model.dtype(), raw);
        *out = export_tensor(model.forward(imgs, /*train=*/false));
    });
}

int32_t mae_classifier_features(mae_classifier* c, const mae_tensor_view* images, mae_tensor** out) {
    return guarded([&] {
        require_ptr(c, "classifier");
        require_ptr(out, "out");
        auto raw = mae::wrap_view(images, "images");
        auto& model = *c->impl;
        std::shared_lock<std::shared_mutex> lock(model.lock());
        c10::InferenceMode inference;  // no autograd bookkeeping at all
        auto imgs = mae::prepare_images(model.config(), model.device(), model.dtype(), raw);
        *out = export_tensor(model.forward_features(imgs, /*train=*/false));
    });
}

int32_t mae_classifier_loss(mae_classifier* c, const mae_tensor_view* images, const mae_tensor_view* labels,
                            double label_smoothing, int32_t flags, double* loss_out) {
    return guarded([&] {
        require_ptr(c, "classifier");
        require_ptr(loss_out, "loss_out");
        mae::require(flags == MAE_FORWARD_DEFAULT || flags == MAE_FORWARD_BACKWARD,
                     "flags must be MAE_FORWARD_DEFAULT or MAE_FORWARD_BACKWARD, got " + std::to_string(flags));
        auto raw = mae::wrap_view(images, "images");
        auto y = mae::wrap_view(labels, "labels");
        auto& model = *c->impl;
        auto loss_of = [&] {
            auto imgs = mae::prepare_images(model.config(), model.device(), model.dtype(), raw);
            mae::check_labels(y, imgs.size(0), model.num_classes());
            auto logits = model.forward(imgs, /*train=*/flags == MAE_FORWARD_BACKWARD);
            return mae::smoothed_cross_entropy(logits, y.to(model.device()), label_smoothing);
        };
        if (flags == MAE_FORWARD_BACKWARD) {
            std::unique_lock<std::shared_mutex> lock(model.lock());
            mae::clear_gradients(model.params());
            auto loss = loss_of();
            loss.backward();
            *loss_out = loss.item<double>();
        } else {
            // Evaluation never draws from the stochastic-depth generator, so readers may share the lock.
            std::shared_lock<std::shared_mutex> lock(model.lock());
            c10::InferenceMode inference;  // no autograd bookkeeping at all
            *loss_out = loss_of().item<double>();
        }
    });
}

int32_t mae_finetuner_create(mae_classifier* c, const mae_adamw_config* config, double layer_decay,
                             double label_smoothing, mae_finetuner** out) {
    return guarded([&] {
        require_ptr(c, "classifier");
        require_ptr(config, "config");
        require_ptr(out, "out");
        std::unique_lock<std::shared_mutex> lock(c->impl->lock());
        *out = new mae_finetuner{std::make_unique<mae::FineTuner>(c->impl, *config, layer_decay, label_smoothing)};
    });
}

int32_t mae_finetuner_free(mae_finetuner* t) {
    return guarded([&] { delete t; });
}

int32_t mae_finetuner_set_lr(mae_finetuner* t, double lr) {
    return guarded([&] {
        require_ptr(t, "finetuner");
        std::unique_lock<std::shared_mutex> lock(t->impl->model().lock());
        t->impl->set_lr(lr);
    });
}

int32_t mae_finetuner_step(mae_finetuner* t, const mae_tensor_view* images, const mae_tensor_view* labels,
                           double* loss_out) {
    return guarded([&] {
        require_ptr(t, "finetuner");
        require_ptr(loss_out, "loss_out");
        auto raw = mae::wrap_view(images, "images");
        *loss_out = t->impl->step(raw, mae::wrap_view(labels, "labels"));
    });
}

int32_t mae_finetuner_step_soft(mae_finetuner* t, const mae_tensor_view* images, const mae_tensor_view* targets,
                                double* loss_out) {
    return guarded([&] {
        require_ptr(t, "finetuner");
        require_ptr(loss_out, "loss_out");
        *loss_out = t->impl->step_soft(mae::wrap_view(images, "images"), mae::wrap_view(targets, "targets"));
    });
}

int32_t mae_finetuner_step_count(const mae_finetuner* t, int64_t* out) {
    return guarded([&] {
        require_ptr(t, "finetuner");
        require_ptr(out, "out");
        *out = t->impl->step_count();
    });
}

int32_t mae_finetuner_skipped_count(const mae_finetuner* t, int64_t* out) {
    return guarded([&] {
        require_ptr(t, "finetuner");
        require_ptr(out, "out");
        *out = t->impl->skipped_updates();
    });
}

int32_t mae_finetuner_set_step_count(mae_finetuner* t, int64_t step) {
    return guarded([&] {
        require_ptr(t, "finetuner");
        std::unique_lock<std::shared_mutex> lock(t->impl->model().lock());
        t->impl->set_step_count(step);
    });
}

int32_t mae_finetuner_state_count(const mae_finetuner* t, int64_t* out) {
    return guarded([&] {
        require_ptr(t, "finetuner");
        require_ptr(out, "out");
        *out = static_cast<int64_t>(t->impl->optimizer().state_names().size());
    });
}

int32_t mae_finetuner_state_info(const mae_finetuner* t, int64_t index, const char** name_out,
                                 mae_tensor_view* shape_out) {
    return guarded([&] {
        require_ptr(t, "finetuner");
        describe_state(*t->impl, index, name_out, shape_out);
    });
}

int32_t mae_finetuner_state_get(const mae_finetuner* t, const char* name, mae_tensor** out) {
    return guarded([&] {
        require_ptr(t, "finetuner");
        require_ptr(out, "out");
        *out = copy_state(*t->impl, name);
    });
}

int32_t mae_finetuner_state_set(mae_finetuner* t, const char* name, const mae_tensor_view* value) {
    return guarded([&] {
        require_ptr(t, "finetuner");
        overwrite_state(*t->impl, name, value);
    });
}


// --- process groups ---

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

int32_t mae_process_group_rank(const mae_process_group* g, int32_t* out) {
    return guarded([&] {
        require_ptr(g, "group");
        require_ptr(out, "out");
        *out = g->impl->rank();
    });
}

int32_t mae_process_group_world_size(const mae_process_group* g, int32_t* out) {
    return guarded([&] {
        require_ptr(g, "group");
        require_ptr(out, "out");
        *out = g->impl->world_size();
    });
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

int32_t mae_trainer_set_process_group(mae_trainer* t, mae_process_group* group, int64_t bucket_bytes) {
    return guarded([&] {
        require_ptr(t, "trainer");
        require_ptr(group, "group");
        t->impl->set_process_group(group->impl, bucket_bytes);
    });
}

int32_t mae_finetuner_set_process_group(mae_finetuner* t, mae_process_group* group, int64_t bucket_bytes) {
    return guarded([&] {
        require_ptr(t, "fine-tuner");
        require_ptr(group, "group");
        t->impl->set_process_group(group->impl, bucket_bytes);
    });
}

int32_t mae_trainer_set_step_threads(mae_trainer* t, int32_t threads) {
    return guarded([&] {
        require_ptr(t, "trainer");
        t->impl->set_step_threads(threads);
    });
}

int32_t mae_finetuner_set_step_threads(mae_finetuner* t, int32_t threads) {
    return guarded([&] {
        require_ptr(t, "fine-tuner");
        t->impl->set_step_threads(threads);
    });
}

}  // extern "C"
