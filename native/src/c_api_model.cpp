// The C ABI, model section: MAE models (forward, encoding, parameters) and classifiers for fine-tuning.
#include <mutex>
#include <shared_mutex>

#include "c_api_internal.h"
#include "tensors.h"

namespace {

using namespace mae::abi;

// The encoder's features [N, 1 + L, D] of caller images, shaped by `pool` (e.g. into [N, D]).
template <class Pool>
int32_t encode_with(mae_model* m, const mae_tensor_view* images, mae_tensor** out, Pool&& pool) {
    return guarded([&] {
        require_ptr(m, "model");
        require_ptr(out, "out");
        auto tokens = m->impl->run_encoder(mae::wrap_view(images, "images"), m->last_input_address);
        c10::InferenceMode inference;  // the pooling too
        *out = export_tensor(pool(tokens));
    });
}

}  // namespace

using namespace mae::abi;

extern "C" {

int32_t mae_model_create(const mae_config* config, const mae_device* device, uint64_t seed, mae_model** out) {
    return guarded([&] {
        require_ptr(config, "config");
        require_ptr(out, "out");
        auto dev = device_of(device);  // the model's constructor validates the configuration
        *out = new mae_model(std::make_shared<mae::MaeModel>(*config, dev, seed));
    });
}

int32_t mae_model_free(mae_model* m) {
    return guarded([&] { delete m; });
}

int32_t mae_model_params(mae_model* m, mae_params** out) {
    return guarded([&] {
        require_ptr(m, "model");
        require_ptr(out, "out");
        *out = &m->params;
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
        auto result = m->impl->run(mae::wrap_view(images, "images"), *masker->impl, flags == MAE_FORWARD_BACKWARD,
                                   m->last_input_address);
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
        return fail(MAE_ERR_INVALID_ARGUMENT,
                    "pool must be MAE_POOL_CLS or MAE_POOL_MEAN, got " + std::to_string(pool));
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

int32_t mae_classifier_create(const mae_model* encoder, int32_t num_classes, double drop_path_rate, uint64_t seed,
                              mae_classifier** out) {
    return guarded([&] {
        require_ptr(encoder, "encoder");
        require_ptr(out, "out");
        std::shared_lock<std::shared_mutex> lock(encoder->impl->lock());
        auto impl = std::make_shared<mae::VitClassifier>(*encoder->impl, num_classes, drop_path_rate, seed);
        *out = new mae_classifier(std::move(impl));
    });
}

int32_t mae_classifier_free(mae_classifier* c) {
    return guarded([&] { delete c; });
}

int32_t mae_classifier_rng_state_get(mae_classifier* c, mae_tensor** out) {
    return guarded([&] {
        require_ptr(c, "classifier");
        require_ptr(out, "out");
        *out = export_tensor(c->impl->locked_rng_state());
    });
}

int32_t mae_classifier_rng_state_set(mae_classifier* c, const mae_tensor_view* state) {
    return guarded([&] {
        require_ptr(c, "classifier");
        c->impl->locked_set_rng_state(mae::wrap_view(state, "state"));
    });
}

int32_t mae_classifier_probe_head_add(mae_classifier* c) {
    return guarded([&] {
        require_ptr(c, "classifier");
        std::unique_lock<std::shared_mutex> lock(c->impl->lock());
        c->impl->add_probe_head();
    });
}

int32_t mae_classifier_params(mae_classifier* c, mae_params** out) {
    return guarded([&] {
        require_ptr(c, "classifier");
        require_ptr(out, "out");
        *out = &c->params;
    });
}

int32_t mae_classifier_logits(mae_classifier* c, const mae_tensor_view* images, mae_tensor** out) {
    return guarded([&] {
        require_ptr(c, "classifier");
        require_ptr(out, "out");
        *out = export_tensor(c->impl->run_logits(mae::wrap_view(images, "images")));
    });
}

int32_t mae_classifier_features(mae_classifier* c, const mae_tensor_view* images, mae_tensor** out) {
    return guarded([&] {
        require_ptr(c, "classifier");
        require_ptr(out, "out");
        *out = export_tensor(c->impl->run_features(mae::wrap_view(images, "images")));
    });
}

int32_t mae_classifier_loss(mae_classifier* c, const mae_tensor_view* images, const mae_tensor_view* labels,
                            double label_smoothing, int32_t flags, double* loss_out) {
    return guarded([&] {
        require_ptr(c, "classifier");
        require_ptr(loss_out, "loss_out");
        mae::require(flags == MAE_FORWARD_DEFAULT || flags == MAE_FORWARD_BACKWARD,
                     "flags must be MAE_FORWARD_DEFAULT or MAE_FORWARD_BACKWARD, got " + std::to_string(flags));
        *loss_out = c->impl->run_loss(mae::wrap_view(images, "images"), mae::wrap_view(labels, "labels"),
                                      label_smoothing, flags == MAE_FORWARD_BACKWARD);
    });
}

// --- parameters of a model or a classifier ---

int32_t mae_params_count(const mae_params* p, int64_t* out) {
    return guarded([&] {
        require_ptr(p, "params");
        require_ptr(out, "out");
        *out = static_cast<int64_t>(p->params->size());  // the list never changes: no lock
    });
}

int32_t mae_params_info(const mae_params* p, int64_t index, const char** name_out, mae_tensor_view* shape_out,
                        int32_t* trainable_out) {
    return guarded([&] {
        require_ptr(p, "params");
        const auto& params = *p->params;
        mae::require(index >= 0 && index < static_cast<int64_t>(params.size()),
                     "index must be in [0, " + std::to_string(params.size()) + "), got " + std::to_string(index));
        const auto& param = params[static_cast<size_t>(index)];
        if (name_out) *name_out = param.name.c_str();
        if (shape_out) mae::describe(param.value, shape_out);
        if (trainable_out) *trainable_out = param.trainable ? 1 : 0;
    });
}

int32_t mae_params_get(const mae_params* p, const char* name, mae_tensor** out) {
    return guarded([&] {
        require_ptr(p, "params");
        require_ptr(name, "name");
        require_ptr(out, "out");
        std::shared_lock<std::shared_mutex> lock(*p->lock);
        *out = export_tensor(mae::find_param(*p->params, name).value.clone());
    });
}

int32_t mae_params_set(mae_params* p, const char* name, const mae_tensor_view* value) {
    return guarded([&] {
        require_ptr(p, "params");
        require_ptr(name, "name");
        auto src = mae::wrap_view(value, "value");
        std::unique_lock<std::shared_mutex> lock(*p->lock);
        const auto& param = mae::find_param(*p->params, name);
        mae::copy_checked(param.value, src, std::string("parameter '") + name + "'");
    });
}

int32_t mae_params_grad_get(const mae_params* p, const char* name, mae_tensor** out) {
    return guarded([&] {
        require_ptr(p, "params");
        require_ptr(name, "name");
        require_ptr(out, "out");
        std::shared_lock<std::shared_mutex> lock(*p->lock);
        const auto& param = mae::find_param(*p->params, name);
        if (!param.trainable) throw mae::InvalidArgument(std::string("parameter '") + name + "' is not trained");
        const auto& g = param.value.grad();
        if (!g.defined())
            throw mae::InvalidState(std::string("no gradient for '") + name +
                                    "': run a forward pass with MAE_FORWARD_BACKWARD first");
        *out = export_tensor(g.clone());
    });
}

}  // extern "C"
