// The C ABI, training section: trainers (pretraining) and fine-tuners, their steps and accumulation, and the
// training both have (mae_training): learning rate, counts, optimiser state, step threads.
#include <mutex>
#include <shared_mutex>

#include "c_api_internal.h"
#include "tensors.h"

using namespace mae::abi;

extern "C" {

int32_t mae_trainer_create(mae_model* m, const mae_adamw_config* config, mae_trainer** out) {
    return guarded([&] {
        require_ptr(m, "model");
        require_ptr(config, "config");
        require_ptr(out, "out");
        std::unique_lock<std::shared_mutex> lock(m->impl->lock());
        *out = new mae_trainer(std::make_unique<mae::Trainer>(m->impl, *config));
    });
}

int32_t mae_trainer_free(mae_trainer* t) {
    return guarded([&] { delete t; });
}

int32_t mae_trainer_training(mae_trainer* t, mae_training** out) {
    return guarded([&] {
        require_ptr(t, "trainer");
        require_ptr(out, "out");
        *out = &t->training;
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

int32_t mae_finetuner_create(mae_classifier* c, const mae_adamw_config* config, double layer_decay,
                             double label_smoothing, int32_t trainable_blocks, mae_finetuner** out) {
    return guarded([&] {
        require_ptr(c, "classifier");
        require_ptr(config, "config");
        require_ptr(out, "out");
        std::unique_lock<std::shared_mutex> lock(c->impl->lock());
        *out = new mae_finetuner(
            std::make_unique<mae::FineTuner>(c->impl, *config, layer_decay, label_smoothing, trainable_blocks));
    });
}

int32_t mae_finetuner_free(mae_finetuner* t) {
    return guarded([&] { delete t; });
}

int32_t mae_finetuner_training(mae_finetuner* t, mae_training** out) {
    return guarded([&] {
        require_ptr(t, "finetuner");
        require_ptr(out, "out");
        *out = &t->training;
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

// --- the training of a trainer or a fine-tuner ---

int32_t mae_training_set_lr(mae_training* t, double lr) {
    return guarded([&] {
        require_ptr(t, "training");
        t->impl->set_lr(lr);
    });
}

int32_t mae_training_step_count(const mae_training* t, int64_t* out) {
    return guarded([&] {
        require_ptr(t, "training");
        require_ptr(out, "out");
        *out = t->impl->step_count();
    });
}

int32_t mae_training_skipped_count(const mae_training* t, int64_t* out) {
    return guarded([&] {
        require_ptr(t, "training");
        require_ptr(out, "out");
        *out = t->impl->skipped_updates();
    });
}

int32_t mae_training_last_step_shards(const mae_training* t, int32_t* out) {
    return guarded([&] {
        require_ptr(t, "training");
        require_ptr(out, "out");
        *out = t->impl->last_step_shards();
    });
}

int32_t mae_training_set_step_count(mae_training* t, int64_t step) {
    return guarded([&] {
        require_ptr(t, "training");
        t->impl->set_step_count(step);
    });
}

int32_t mae_training_set_step_threads(mae_training* t, int32_t threads) {
    return guarded([&] {
        require_ptr(t, "training");
        t->impl->set_step_threads(threads);
    });
}

int32_t mae_training_state_count(const mae_training* t, int64_t* out) {
    return guarded([&] {
        require_ptr(t, "training");
        require_ptr(out, "out");
        *out = static_cast<int64_t>(t->impl->state_names().size());
    });
}

int32_t mae_training_state_info(const mae_training* t, int64_t index, const char** name_out,
                                mae_tensor_view* shape_out) {
    return guarded([&] {
        require_ptr(t, "training");
        const auto& name = t->impl->state_name(index);
        if (name_out) *name_out = name.c_str();
        if (shape_out) mae::describe(t->impl->optimizer().state(name), shape_out);  // shapes never change: no lock
    });
}

int32_t mae_training_state_get(const mae_training* t, const char* name, mae_tensor** out) {
    return guarded([&] {
        require_ptr(t, "training");
        require_ptr(name, "name");
        require_ptr(out, "out");
        *out = export_tensor(t->impl->state_copy(name));
    });
}

int32_t mae_training_state_set(mae_training* t, const char* name, const mae_tensor_view* value) {
    return guarded([&] {
        require_ptr(t, "training");
        require_ptr(name, "name");
        t->impl->state_set(name, mae::wrap_view(value, "value"));
    });
}

}  // extern "C"
