/*
 * abi_test.c — drives libmae through mae.h alone, in C, as any non-Java caller would: create a model, train a few
 * steps, save its weights and optimiser state through the ABI, load them into fresh objects and check that the next
 * step is the same, and check that bad calls return the documented status with a message. Run by CTest.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mae.h"

static int failures = 0;

/* Counts a failed check and says where. */
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
            failures++;                                                    \
        }                                                                  \
    } while (0)

/* A call that must succeed; on failure, the library's message and the test ends. */
#define MUST(call)                                                                              \
    do {                                                                                        \
        int32_t status_ = (call);                                                               \
        if (status_ != MAE_OK) {                                                                \
            fprintf(stderr, "%s:%d: %s returned %d: %s\n", __FILE__, __LINE__, #call, status_, \
                    mae_last_error());                                                          \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)

/* A call that must fail with `expected` and leave a message. */
#define REFUSED(expected, call)                                                                   \
    do {                                                                                          \
        int32_t status_ = (call);                                                                 \
        CHECK(status_ == (expected), "%s returned %d, expected %d", #call, status_, (expected)); \
        CHECK(mae_last_error() != NULL && strlen(mae_last_error()) > 0, "%s left no message", #call); \
    } while (0)

static mae_config small_config(void) {
    mae_config c;
    memset(&c, 0, sizeof c);
    c.img_size = 16;
    c.patch_size = 4;
    c.in_chans = 1;
    c.embed_dim = 16;
    c.depth = 2;
    c.num_heads = 2;
    c.decoder_embed_dim = 8;
    c.decoder_depth = 1;
    c.decoder_num_heads = 2;
    c.mlp_ratio = 4.0;
    c.norm_pix_loss = 1;
    c.dtype = MAE_DTYPE_F32;
    c.layer_norm_eps = 1e-6;
    return c;
}

static mae_tensor_view view_of(void* data, int32_t dtype, int32_t ndim, const int64_t* shape) {
    mae_tensor_view v;
    memset(&v, 0, sizeof v);
    v.data = data;
    v.dtype = dtype;
    v.ndim = ndim;
    for (int32_t i = 0; i < ndim; i++) v.shape[i] = shape[i];
    return v;
}

static int64_t elements(const mae_tensor_view* v) {
    int64_t n = 1;
    for (int32_t i = 0; i < v->ndim; i++) n *= v->shape[i];
    return n;
}

static size_t element_size(int32_t dtype) {
    return dtype == MAE_DTYPE_F64 || dtype == MAE_DTYPE_I64 ? 8 : dtype == MAE_DTYPE_U8 ? 1 : 4;
}

/* One saved tensor: its name and a copy of its values. */
typedef struct saved {
    char name[128];
    mae_tensor_view shape;
    void* data;
} saved;

static saved save_tensor(const char* name, mae_tensor* t) {
    saved s;
    memset(&s, 0, sizeof s);
    snprintf(s.name, sizeof s.name, "%s", name);
    mae_tensor_view v;
    MUST(mae_tensor_view_of(t, &v));
    size_t bytes = (size_t)elements(&v) * element_size(v.dtype);
    s.shape = v;
    s.data = malloc(bytes);
    memcpy(s.data, v.data, bytes);
    s.shape.data = s.data;
    MUST(mae_tensor_free(t));
    return s;
}

/* Every parameter of p, by name; *trained counts those the optimiser updates. */
static int64_t save_params(const mae_params* p, saved** out, int64_t* trained) {
    int64_t n;
    MUST(mae_params_count(p, &n));
    *out = calloc((size_t)n, sizeof(saved));
    *trained = 0;
    for (int64_t i = 0; i < n; i++) {
        const char* name;
        mae_tensor_view shape;
        int32_t trainable;
        MUST(mae_params_info(p, i, &name, &shape, &trainable));
        *trained += trainable;
        mae_tensor* t;
        MUST(mae_params_get(p, name, &t));
        (*out)[i] = save_tensor(name, t);
    }
    return n;
}

/* Every optimiser state entry of t, by name. */
static int64_t save_state(const mae_training* t, saved** out) {
    int64_t n;
    MUST(mae_training_state_count(t, &n));
    *out = calloc((size_t)n, sizeof(saved));
    for (int64_t i = 0; i < n; i++) {
        const char* name;
        mae_tensor_view shape;
        MUST(mae_training_state_info(t, i, &name, &shape));
        mae_tensor* v;
        MUST(mae_training_state_get(t, name, &v));
        (*out)[i] = save_tensor(name, v);
    }
    return n;
}

static void free_saved(saved* s, int64_t n) {
    for (int64_t i = 0; i < n; i++) free(s[i].data);
    free(s);
}

int main(void) {
    CHECK(mae_abi_version() == MAE_ABI_VERSION, "library ABI %d, header %d", mae_abi_version(), MAE_ABI_VERSION);
    const char* torch_version = NULL;
    MUST(mae_torch_version(&torch_version));
    CHECK(torch_version != NULL && strlen(torch_version) > 0, "no LibTorch version");
    MUST(mae_set_num_threads(1));

    mae_config config = small_config();
    mae_device cpu = {MAE_DEVICE_CPU, 0};
    mae_adamw_config adamw = {1e-3, 0.9, 0.95, 1e-8, 0.05};

    /* A batch of 4 images [4, 1, 16, 16], deterministic values. */
    enum { N = 4, PIXELS = 16 * 16 };
    float images[N * PIXELS];
    for (int i = 0; i < N * PIXELS; i++) images[i] = (float)sin(0.37 * i) * 0.8f;
    const int64_t image_shape[4] = {N, 1, 16, 16};
    mae_tensor_view batch = view_of(images, MAE_DTYPE_F32, 4, image_shape);

    /* Train three steps. */
    mae_model* model;
    mae_masker* masker;
    mae_trainer* trainer;
    mae_training* training;
    MUST(mae_model_create(&config, &cpu, 7, &model));
    MUST(mae_masker_random(0.75, 11, &masker));
    MUST(mae_trainer_create(model, &adamw, &trainer));
    MUST(mae_trainer_training(trainer, &training));
    double losses[3];
    for (int s = 0; s < 3; s++) {
        MUST(mae_trainer_step(trainer, &batch, masker, &losses[s]));
        CHECK(isfinite(losses[s]) && losses[s] > 0, "step %d loss %g", s, losses[s]);
    }
    int64_t steps;
    MUST(mae_training_step_count(training, &steps));
    CHECK(steps == 3, "step count %lld", (long long)steps);

    /* Save: parameters, optimiser state, masker state. */
    mae_params* params;
    MUST(mae_model_params(model, &params));
    saved *weights, *state;
    int64_t trained;
    int64_t n_weights = save_params(params, &weights, &trained);
    int64_t n_state = save_state(training, &state);
    /* the fixed sine-cosine tables are parameters the optimiser leaves alone */
    CHECK(trained == n_weights - 2, "%lld of %lld parameters trained", (long long)trained, (long long)n_weights);
    CHECK(n_state == 2 * trained + 1, "%lld trained parameters, %lld state entries", (long long)trained,
          (long long)n_state);
    mae_tensor* masker_state;
    MUST(mae_masker_state_get(masker, &masker_state));
    saved draws = save_tensor("masker", masker_state);

    /* Load into fresh objects of another seed. */
    mae_model* model2;
    mae_masker* masker2;
    mae_trainer* trainer2;
    mae_training* training2;
    mae_params* params2;
    MUST(mae_model_create(&config, &cpu, 99, &model2));
    MUST(mae_masker_random(0.75, 99, &masker2));
    MUST(mae_trainer_create(model2, &adamw, &trainer2));
    MUST(mae_trainer_training(trainer2, &training2));
    MUST(mae_model_params(model2, &params2));
    for (int64_t i = 0; i < n_weights; i++) MUST(mae_params_set(params2, weights[i].name, &weights[i].shape));
    MUST(mae_training_set_step_count(training2, steps));
    for (int64_t i = 0; i < n_state; i++) MUST(mae_training_state_set(training2, state[i].name, &state[i].shape));
    MUST(mae_masker_state_set(masker2, &draws.shape));

    /* The next step of both is the same, to the bit: same weights, moments, step count and masks. */
    double next, next2;
    MUST(mae_trainer_step(trainer, &batch, masker, &next));
    MUST(mae_trainer_step(trainer2, &batch, masker2, &next2));
    CHECK(next == next2, "loaded model's step %.17g, original's %.17g", next2, next);
    mae_tensor *a, *b;
    MUST(mae_params_get(params, weights[0].name, &a));
    MUST(mae_params_get(params2, weights[0].name, &b));
    mae_tensor_view va, vb;
    MUST(mae_tensor_view_of(a, &va));
    MUST(mae_tensor_view_of(b, &vb));
    CHECK(memcmp(va.data, vb.data, (size_t)elements(&va) * element_size(va.dtype)) == 0, "%s differs after the step",
          weights[0].name);
    MUST(mae_tensor_free(a));
    MUST(mae_tensor_free(b));

    /* The inference encoder: its parameters alone, set from the trained model's by name, embed as the model
       encodes; a caller's tensor of the wrong shape is refused. */
    {
        mae_encoder* enc;
        mae_params* enc_params;
        MUST(mae_encoder_create(&config, &cpu, MAE_ENCODER_MAE, &enc));
        MUST(mae_encoder_params(enc, &enc_params));
        int64_t count = 0;
        MUST(mae_params_count(enc_params, &count));
        CHECK(count == 4 + 12 * config.depth + 2, "the encoder holds %lld parameters", (long long)count);
        for (int64_t i = 0; i < count; i++) {
            const char* name;
            mae_tensor_view shape;
            MUST(mae_params_info(enc_params, i, &name, &shape, NULL));
            CHECK(strncmp(name, "decoder", 7) != 0 && strcmp(name, "mask_token") != 0, "encoder has %s", name);
            mae_tensor* value;
            MUST(mae_params_get(params, name, &value));
            mae_tensor_view v;
            MUST(mae_tensor_view_of(value, &v));
            MUST(mae_params_set(enc_params, name, &v));
            MUST(mae_tensor_free(value));
        }
        mae_tensor *tokens, *encoded;
        MUST(mae_encoder_embed(enc, &batch, MAE_POOL_TOKENS, &tokens));
        MUST(mae_model_encode(model, &batch, &encoded));
        mae_tensor_view tv, ev;
        MUST(mae_tensor_view_of(tokens, &tv));
        MUST(mae_tensor_view_of(encoded, &ev));
        CHECK(elements(&tv) == elements(&ev), "tokens %lld, encoded %lld", (long long)elements(&tv),
              (long long)elements(&ev));
        double worst = 0;
        for (int64_t i = 0; i < elements(&tv) && i < elements(&ev); i++) {
            double d = fabs(((const float*)tv.data)[i] - ((const float*)ev.data)[i]);
            if (d > worst) worst = d;
        }
        CHECK(worst < 1e-5, "encoder tokens differ from the model's by %g", worst);
        float cls[N * 16];
        const int64_t cls_shape[2] = {N, 16}, wrong_cls_shape[2] = {N, 15};
        mae_tensor_view into = view_of(cls, MAE_DTYPE_F32, 2, cls_shape);
        MUST(mae_encoder_embed_into(enc, &batch, MAE_POOL_CLS, &into));
        mae_tensor_view wrong_into = view_of(cls, MAE_DTYPE_F32, 2, wrong_cls_shape);
        REFUSED(MAE_ERR_INVALID_ARGUMENT, mae_encoder_embed_into(enc, &batch, MAE_POOL_CLS, &wrong_into));
        REFUSED(MAE_ERR_INVALID_ARGUMENT, mae_encoder_embed(enc, &batch, 7, &tokens));
        MUST(mae_tensor_free(tokens));
        MUST(mae_tensor_free(encoded));
        MUST(mae_encoder_free(enc));
        MUST(mae_encoder_free(NULL));
    }

    /* Error paths: the documented status and a message, never a crash. */
    REFUSED(MAE_ERR_INVALID_ARGUMENT, mae_trainer_step(NULL, &batch, masker, &next));
    REFUSED(MAE_ERR_INVALID_ARGUMENT, mae_trainer_step(trainer, NULL, masker, &next));
    mae_config bad = small_config();
    bad.patch_size = 5; /* 16 is not a multiple of 5 */
    mae_model* none = NULL;
    REFUSED(MAE_ERR_INVALID_ARGUMENT, mae_model_create(&bad, &cpu, 1, &none));
    CHECK(none == NULL, "a refused create handed out a model");
    const int64_t wrong_shape[4] = {N, 3, 16, 16};
    mae_tensor_view wrong = view_of(images, MAE_DTYPE_F32, 4, wrong_shape); /* 3 channels for a 1-channel model */
    REFUSED(MAE_ERR_INVALID_ARGUMENT, mae_trainer_step(trainer, &wrong, masker, &next));
    REFUSED(MAE_ERR_INVALID_ARGUMENT, mae_params_set(params, "no.such.parameter", &weights[0].shape));
    REFUSED(MAE_ERR_INVALID_ARGUMENT, mae_masker_random(1.5, 1, &masker2 /* untouched on failure */));
    mae_model* fresh;
    MUST(mae_model_create(&config, &cpu, 1, &fresh));
    mae_params* fresh_params;
    MUST(mae_model_params(fresh, &fresh_params));
    mae_tensor* grad;
    REFUSED(MAE_ERR_INVALID_STATE, mae_params_grad_get(fresh_params, weights[0].name, &grad));
    const mae_device cuda = {MAE_DEVICE_CUDA, 0};
    int32_t gpus = 0;
    MUST(mae_cuda_device_count(&gpus));
    if (gpus == 0) REFUSED(MAE_ERR_INVALID_ARGUMENT, mae_model_create(&config, &cuda, 1, &none));
    /* Frees accept NULL. */
    MUST(mae_model_free(NULL));
    MUST(mae_trainer_free(NULL));
    MUST(mae_masker_free(NULL));
    MUST(mae_tensor_free(NULL));

    MUST(mae_model_free(fresh));
    MUST(mae_trainer_free(trainer2));
    MUST(mae_trainer_free(trainer));
    MUST(mae_masker_free(masker2));
    MUST(mae_masker_free(masker));
    MUST(mae_model_free(model2));
    MUST(mae_model_free(model));
    free_saved(weights, n_weights);
    free_saved(state, n_state);
    free(draws.data);

    if (failures) {
        fprintf(stderr, "abi_test: %d checks failed\n", failures);
        return 1;
    }
    printf("abi_test: losses %.6f %.6f %.6f, then %.6f on both the trained and the loaded model\n", losses[0],
           losses[1], losses[2], next);
    return 0;
}
