/*
 * mae.h — the C ABI of libmae, the native core of mae4j.
 *
 * This header is the only contract across the language boundary: C types only, opaque handles,
 * plain structs. Every function but mae_abi_version() and mae_last_error() returns an int32_t status
 * (MAE_OK = 0); on failure, mae_last_error() gives a message for the calling thread.
 *
 * Ownership: whoever allocates frees. Caller memory passed as a mae_tensor_view is read in place for
 * the duration of the call only. Handles returned through out-pointers belong to the caller, who
 * frees them with the matching mae_*_free function (which accepts NULL).
 */
#ifndef MAE_H
#define MAE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a declaration below changes; the Java loader refuses a library of another version. */
#define MAE_ABI_VERSION 23

#define MAE_MAX_DIMS 8

/* Status codes. */
#define MAE_OK 0
#define MAE_ERR_INVALID_ARGUMENT 1 /* a bad value, shape, dtype or null pointer; a CUDA device none is seen for */
#define MAE_ERR_INVALID_STATE 2    /* e.g. gradients read before any backward pass */
#define MAE_ERR_OUT_OF_MEMORY 3
#define MAE_ERR_UNSUPPORTED 4      /* what this libmae was built without: a process-group backend, libjpeg, or a
                                      JPEG colour space it does not decode */
#define MAE_ERR_INTERNAL 5         /* anything else libtorch reported */
#define MAE_ERR_PEER_FAILURE 6     /* a collective failed: a peer died, left, never arrived or timed out */

/* Element types of tensors. */
#define MAE_DTYPE_F32 0
#define MAE_DTYPE_F64 1
#define MAE_DTYPE_I64 2
#define MAE_DTYPE_U8 3
/* mae_config.dtype only, never a tensor's: bfloat16 mixed precision. Parameters, gradients and AdamW stay F32; the
   forward pass runs under autocast to bfloat16 as torch.autocast does (matrix products and attention in bfloat16,
   what it keeps in float32 in float32); the tensors handed back are F32. */
#define MAE_DTYPE_BF16 4

/* Device types. On CUDA, float32 stays IEEE float32: the first CUDA device used turns cuDNN's TF32 off for the
   process (LibTorch's matrix products do not use TF32 by default); MAE_DTYPE_BF16 is the faster precision. */
#define MAE_DEVICE_CPU 0
#define MAE_DEVICE_CUDA 1

/* Flags of mae_model_forward. */
#define MAE_FORWARD_DEFAULT 0
#define MAE_FORWARD_BACKWARD 1 /* also run backward: gradients become readable with mae_params_grad_get */

/* Poolings of mae_model_encode_pooled. */
#define MAE_POOL_CLS 0
#define MAE_POOL_MEAN 1
#define MAE_POOL_TOKENS 2 /* every token, [CLS] first (mae_encoder_embed) */

/* Flags of mae_trainer_accumulate. */
#define MAE_ACCUMULATE_DEFAULT 0
#define MAE_ACCUMULATE_LAST 1 /* the window's last micro-batch: with a process group, its backward pass all-reduces
                                 the gradients bucket by bucket as they are produced */

/* Kinds of inference encoders (mae_encoder_create). */
#define MAE_ENCODER_MAE 0        /* an MAE's encoder: blocks, then the final norm over every token */
#define MAE_ENCODER_CLASSIFIER 1 /* a fine-tuned classifier's: blocks, the patch tokens' mean, then fc_norm */

/* Backends of process groups (torch.distributed's). */
#define MAE_BACKEND_GLOO 0 /* CPU tensors */
#define MAE_BACKEND_NCCL 1 /* CUDA tensors */

typedef struct mae_model mae_model;
typedef struct mae_masker mae_masker;
typedef struct mae_trainer mae_trainer;
typedef struct mae_tensor mae_tensor;
typedef struct mae_classifier mae_classifier;
typedef struct mae_finetuner mae_finetuner;
typedef struct mae_process_group mae_process_group;
typedef struct mae_encoder mae_encoder;
/* Borrowed views into a handle above, never freed, valid while their owner lives: the parameters of a model or a
   classifier or an encoder (mae_model_params, mae_classifier_params, mae_encoder_params), the training of a trainer or a fine-tuner
   (mae_trainer_training, mae_finetuner_training). What both kinds have is reached through them once. */
typedef struct mae_params mae_params;
typedef struct mae_training mae_training;

/* The architecture, named as the reference MaskedAutoencoderViT's arguments. */
typedef struct mae_config {
    int32_t img_size;
    int32_t patch_size;
    int32_t in_chans;
    int32_t embed_dim;
    int32_t depth;
    int32_t num_heads;
    int32_t decoder_embed_dim;
    int32_t decoder_depth;
    int32_t decoder_num_heads;
    double mlp_ratio;
    int32_t norm_pix_loss; /* 0 or 1 */
    int32_t dtype;         /* MAE_DTYPE_F32 or MAE_DTYPE_F64: parameters and activations; MAE_DTYPE_BF16: F32
                              parameters, bfloat16 autocast */
    double layer_norm_eps; /* of every LayerNorm: 1e-6 in the reference (timm), 1e-12 in Hugging Face's ViTMAE */
} mae_config;

typedef struct mae_device {
    int32_t type;  /* MAE_DEVICE_CPU or MAE_DEVICE_CUDA */
    int32_t index; /* CUDA ordinal; 0 for the CPU */
} mae_device;

/* A dense, row-major (C-contiguous) tensor in host memory. */
typedef struct mae_tensor_view {
    void* data;
    int32_t dtype;
    int32_t ndim;
    int64_t shape[MAE_MAX_DIMS];
} mae_tensor_view;

/* What one forward pass returns; the tensor handles belong to the caller. */
typedef struct mae_forward_result {
    double loss;              /* mean squared error over removed patches */
    mae_tensor* pred;         /* [N, L, p*p*C] */
    mae_tensor* mask;         /* [N, L], 1 = removed, 0 = kept */
    mae_tensor* ids_restore;  /* [N, L] int64 */
    mae_tensor* latent;       /* [N, 1 + len_keep, embed_dim] */
} mae_forward_result;

/* torch.optim.AdamW's hyper-parameters; decay applies to parameters with two or more dimensions. */
typedef struct mae_adamw_config {
    double lr;
    double beta1;
    double beta2;
    double eps;
    double weight_decay;
} mae_adamw_config;

/* How a process joins a group, as torchrun's variables say: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE. */
typedef struct mae_process_group_config {
    int32_t backend;         /* MAE_BACKEND_GLOO or MAE_BACKEND_NCCL */
    const char* master_addr; /* rank 0's host; rank 0 serves the rendezvous store there */
    int32_t master_port;
    int32_t rank;
    int32_t world_size;
    int64_t timeout_ms;      /* for meeting the others and for every collective: past it, MAE_ERR_PEER_FAILURE */
    const char* interface;   /* Gloo's network interface (GLOO_SOCKET_IFNAME) or NULL: loopback when master_addr is,
                                else the address this host's name resolves to */
    mae_device device;       /* the CPU for Gloo; this process's GPU for NCCL */
} mae_process_group_config;

/* Library. */
int32_t mae_abi_version(void);
const char* mae_last_error(void);
int32_t mae_torch_version(const char** out);
int32_t mae_cuda_device_count(int32_t* out);
int32_t mae_set_num_threads(int32_t n);
int32_t mae_get_num_threads(int32_t* out);

/* Tensors returned by the library: host memory, contiguous, valid until freed. */
int32_t mae_tensor_view_of(const mae_tensor* t, mae_tensor_view* out);
int32_t mae_tensor_free(mae_tensor* t);

/* Data augmentation: crops, each resized to size × size with bilinear sampling, optionally flipped
   horizontally — RandomResizedCrop and RandomHorizontalFlip for a whole batch at once.
   images [N, C, H, W] F32; boxes [N, 5] F64: top, left, height, width (source pixels), flip (0 or 1).
   out [N, C, size, size] F32. */
int32_t mae_augment_crops(const mae_tensor_view* images, const mae_tensor_view* boxes, int32_t size, mae_tensor** out);

/* Random erasing (timm's RandomErasing, 'pixel' mode, as the reference's fine-tuning uses it): a copy of images
   [N, C, H, W] F32 in which box i of boxes [N, 4] F64 (top, left, height, width, whole pixels; a zero height or
   width erases nothing) holds N(0, 1) values, one per pixel and channel, from a generator seeded with seed.
   out [N, C, H, W] F32. */
int32_t mae_augment_erase(const mae_tensor_view* images, const mae_tensor_view* boxes, uint64_t seed, mae_tensor** out);

/* Mixup and CutMix of a batch with itself reversed (timm's Mixup, 'batch' mode: image i is paired with image
   N − 1 − i). mixup: lam · images + (1 − lam) · images.flip(0), lam in [0, 1]. cutmix: a copy in which the box
   (top, left, height, width; inside the images) of image i comes from image N − 1 − i. images [N, C, H, W] F32;
   out likewise. Mix the targets with the same lam (for CutMix, 1 − box area / image area). */
int32_t mae_augment_mixup(const mae_tensor_view* images, double lam, mae_tensor** out);
int32_t mae_augment_cutmix(const mae_tensor_view* images, int32_t top, int32_t left, int32_t height, int32_t width,
                           mae_tensor** out);

/* RandAugment's image operations (timm's rand_augment_transform) with PIL's arithmetic, each image by its own plan:
   images [N, C, H, W] F32 normalised ((pixel / 255 − mean[c]) / std[c], mean and std [C] F64; C 1 or 3) are
   rounded to 8-bit pixels, changed by the K steps of their row of plan [N, K · 7] F64 (values below 1e6 in
   magnitude) in order — each step a code below and six arguments — and normalised again; pixels an affine step
   brings in from outside take round(255 · mean). out [N, C, H, W] F32. dev.mae4j.data.RandAugment draws the plans. */
#define MAE_RA_NONE 0
#define MAE_RA_AUTOCONTRAST 1 /* ImageOps.autocontrast, per band */
#define MAE_RA_EQUALIZE 2     /* ImageOps.equalize, per band */
#define MAE_RA_INVERT 3       /* ImageOps.invert */
#define MAE_RA_POSTERIZE 4    /* a0 = bits kept */
#define MAE_RA_SOLARIZE 5     /* a0 = threshold */
#define MAE_RA_SOLARIZE_ADD 6 /* a0 = addend, a1 = threshold */
#define MAE_RA_COLOR 7        /* a0 = ImageEnhance factor */
#define MAE_RA_CONTRAST 8     /* a0 = ImageEnhance factor */
#define MAE_RA_BRIGHTNESS 9   /* a0 = ImageEnhance factor */
#define MAE_RA_SHARPNESS 10   /* a0 = ImageEnhance factor */
#define MAE_RA_AFFINE 11      /* a0..a5: Image.transform(AFFINE) coefficients, bicubic */
int32_t mae_augment_rand(const mae_tensor_view* images, const mae_tensor_view* plan, const mae_tensor_view* mean,
                         const mae_tensor_view* std, mae_tensor** out);

/* torchvision's F.resized_crop of a PIL image, bicubic — image.crop(box).resize((width, height), BICUBIC) with
   Pillow 9's fixed-point arithmetic — on one image as decoded: image [H, W, C] U8 interleaved (any channel order,
   kept), crop [4] F64: top, left, height, width in whole source pixels (the whole image for a plain resize).
   out [C, height, width] U8 planar, its columns mirrored when flip is 1: RandomResizedCrop + RandomHorizontalFlip,
   or the evaluation transform's Resize. */
int32_t mae_resized_crop(const mae_tensor_view* image, const mae_tensor_view* crop, int32_t height, int32_t width,
                         int32_t flip, mae_tensor** out);

/* JPEG decoding as PIL 9 decodes (libjpeg's defaults: accurate integer IDCT, fancy upsampling), for libraries built
   with libjpeg: mae_jpeg_available says whether this one was (out 1) or not (0; mae_decode_jpeg then returns
   MAE_ERR_UNSUPPORTED). file [bytes] U8: a whole JPEG file. out [H, W, C] U8 interleaved: C 3 (R, G, B) for colour
   files, 1 for grey ones; other colour spaces (CMYK) MAE_ERR_UNSUPPORTED, a corrupt or truncated file
   MAE_ERR_INVALID_ARGUMENT with libjpeg's complaint. */
int32_t mae_jpeg_available(int32_t* out);
int32_t mae_decode_jpeg(const mae_tensor_view* file, mae_tensor** out);

/* A batch from a pool of U8 images (e.g. a memory-mapped shard, read in place): images [M, C, H, W] U8,
   indices [N] I64 into it; out [N, C, H, W] F32 = (pixel / 255 − mean[c]) / std[c], mean and std [C] F64. */
int32_t mae_gather_normalize(const mae_tensor_view* images, const mae_tensor_view* indices, const mae_tensor_view* mean,
                             const mae_tensor_view* std, mae_tensor** out);

/* Position tables for another image size. The fixed 2-D sine-cosine table of the reference for a grid × grid
   layout: out [1, 1 + grid², embed_dim] F64, row 0 (the [CLS] slot) zero. */
int32_t mae_sincos_pos_embed(int32_t embed_dim, int32_t grid, mae_tensor** out);
/* A learned table [1, 1 + g², D] (F32 or F64) resized to a new_grid × new_grid layout as the reference's
   interpolate_pos_embed does: the [CLS] row kept, the grid resized bicubically (align_corners false). */
int32_t mae_resize_pos_embed(const mae_tensor_view* pos_embed, int32_t new_grid, mae_tensor** out);

/* Maskers decide which patches each image loses. */
int32_t mae_masker_random(double mask_ratio, uint64_t seed, mae_masker** out);
/* The paper's ablations. Block-wise: rectangles of at least 16 patches and aspect ratio 0.3–3.3 removed
   until the ratio is reached (BEiT's scheme). Grid: keeps one patch of every s × s (s = 2 for ratio 0.75),
   at a random offset per image. Both remove exactly as many patches as random masking. */
int32_t mae_masker_blockwise(double mask_ratio, uint64_t seed, mae_masker** out);
int32_t mae_masker_grid(double mask_ratio, uint64_t seed, mae_masker** out);
int32_t mae_masker_from_noise(const mae_tensor_view* noise, double mask_ratio, mae_masker** out);
int32_t mae_masker_free(mae_masker* m);
/* A random masker's generator state (U8), to resume its exact sequence of masks. */
int32_t mae_masker_state_get(const mae_masker* m, mae_tensor** out);
int32_t mae_masker_state_set(mae_masker* m, const mae_tensor_view* state);

/* Named architectures, the one registry of them (vit-base16, fashion-mnist, ...): index in [0, count). The name and
   a one-line description stay valid for the library's lifetime; every preset is F32 with LayerNorm eps 1e-6.
   mae_preset_config fails with MAE_ERR_INVALID_ARGUMENT, listing the names, for a name it does not know. */
int32_t mae_preset_count(int32_t* out);
int32_t mae_preset_info(int32_t index, const char** name_out, const char** description_out);
int32_t mae_preset_config(const char* name, mae_config* out);

/* Models. Parameters are listed in the reference state_dict's order and naming. */
int32_t mae_model_create(const mae_config* config, const mae_device* device, uint64_t seed, mae_model** out);
int32_t mae_model_free(mae_model* m);
/* The model's parameters (mae_params_*). */
int32_t mae_model_params(mae_model* m, mae_params** out);
/* images: [N, C, H, W], F32 or F64. */
int32_t mae_model_forward(mae_model* m, const mae_tensor_view* images, mae_masker* masker, int32_t flags,
                          mae_forward_result* out);
/* Encoder features of unmasked images [N, C, H, W]: [N, 1 + L, embed_dim], [CLS] first, after the final
   norm, tokens in patch order. No gradients. */
int32_t mae_model_encode(mae_model* m, const mae_tensor_view* images, mae_tensor** out);
/* The same features pooled where they are computed, so only [N, embed_dim] crosses to the caller:
   MAE_POOL_CLS the [CLS] token, MAE_POOL_MEAN the mean of the patch tokens (both after the final norm). */
int32_t mae_model_encode_pooled(mae_model* m, const mae_tensor_view* images, int32_t pool, mae_tensor** out);
/* The address of the image data the last forward computed on: equals the caller's pointer when the
   view was used in place (zero-copy), differs when it had to be converted or moved. */
int32_t mae_model_last_input_address(const mae_model* m, uint64_t* out);

/* Inference encoders: the encoder alone, as a service serves it. Only the encoder's parameters exist (cls_token,
   pos_embed, patch_embed, blocks, and norm for MAE_ENCODER_MAE or fc_norm for MAE_ENCODER_CLASSIFIER, named as the
   reference's state_dict): no decoder, no head, no gradients, no random initialisation — they start at zero
   (an MAE's fixed position table at its sine-cosine values) for the caller to set (mae_params_set). Linear layers
   run through libmae's product dispatch: bias+GELU fused into the product where the kernel allows, residual
   additions made in place on its output, and on the CPU the linear weights reordered once per change of the
   parameters into oneDNN's layout where its product on them is the faster (one more copy of them in memory).
   Any number of threads may embed at once; setting parameters waits for them. */
int32_t mae_encoder_create(const mae_config* config, const mae_device* device, int32_t kind, mae_encoder** out);
int32_t mae_encoder_free(mae_encoder* e);
/* The encoder's parameters (mae_params_*). */
int32_t mae_encoder_params(mae_encoder* e, mae_params** out);
/* on = 1: the linear layers' products in bfloat16, from bfloat16 copies of their weights (reordered as above) made
   at the first call after the weights change (the residual stream, LayerNorms and output stay float32, as under autocast); 0: in
   the parameters' dtype. */
int32_t mae_encoder_bf16_set(mae_encoder* e, int32_t on);
/* images [N, C, H, W] (F32 or F64) -> pool MAE_POOL_CLS: [N, embed_dim], the [CLS] token after the final norm;
   MAE_POOL_MEAN: [N, embed_dim], the patch tokens' mean (MAE: after the final norm; classifier: then fc_norm, the
   only pooling a classifier's encoder serves); MAE_POOL_TOKENS: [N, 1 + L, embed_dim], every token. */
int32_t mae_encoder_embed(mae_encoder* e, const mae_tensor_view* images, int32_t pool, mae_tensor** out);
/* The same, written into the caller's tensor `out` (F32 or F64, of exactly the result's shape). */
int32_t mae_encoder_embed_into(mae_encoder* e, const mae_tensor_view* images, int32_t pool,
                               const mae_tensor_view* out);

/* Trainers: one forward, backward and AdamW update per step. */
int32_t mae_trainer_create(mae_model* m, const mae_adamw_config* config, mae_trainer** out);
int32_t mae_trainer_free(mae_trainer* t);
/* The trainer's learning rate, counts and optimiser state (mae_training_*). */
int32_t mae_trainer_training(mae_trainer* t, mae_training** out);
int32_t mae_trainer_step(mae_trainer* t, const mae_tensor_view* images, mae_masker* masker, double* loss_out);

/* Gradient accumulation: each call runs forward and backward on a micro-batch and adds
   loss_scale · its gradients (loss_scale = 1/k for k micro-batches); mae_trainer_apply then takes one AdamW
   update from the sum and clears it. mae_trainer_step is accumulate(1.0, MAE_ACCUMULATE_LAST) followed by apply. */
int32_t mae_trainer_accumulate(mae_trainer* t, const mae_tensor_view* images, mae_masker* masker, double loss_scale,
                               int32_t flags, double* loss_out);
int32_t mae_trainer_apply(mae_trainer* t);

/* Classifiers for fine-tuning: the reference models_vit.VisionTransformer with global pooling (patch tokens
   mean-pooled, fc_norm, a linear head). The encoder (cls_token, pos_embed, patch_embed, blocks) is copied
   from an MAE model, pretrained or fresh; the MAE's final norm is not used. Stochastic depth rises linearly
   over the blocks from 0 to drop_path_rate. Parameters are named as that model's state_dict. */
int32_t mae_classifier_create(const mae_model* encoder, int32_t num_classes, double drop_path_rate, uint64_t seed,
                              mae_classifier** out);
int32_t mae_classifier_free(mae_classifier* c);
/* The stochastic-depth generator's state (U8), to resume a fine-tune's exact drop-path draws. */
int32_t mae_classifier_rng_state_get(mae_classifier* c, mae_tensor** out);
int32_t mae_classifier_rng_state_set(mae_classifier* c, const mae_tensor_view* state);
/* Gives the classifier the paper's linear-probe head (main_linprobe.py): BatchNorm1d(embed_dim, affine=False,
   eps=1e-6) in front of the linear layer, whose weight is drawn again from N(0, 0.01²) and bias zeroed. Parameters
   head.weight and head.bias become head.1.weight and head.1.bias, after head.0.running_mean and head.0.running_var
   (BatchNorm's statistics, not trained; PyTorch's num_batches_tracked is not kept). Training passes normalise by the
   batch's statistics (at least 2 images) and move the running ones by momentum 0.1; evaluation uses the running
   ones. A classifier that has it is unchanged by a second call. A fine-tuner with trainable_blocks 0 adds it. */
int32_t mae_classifier_probe_head_add(mae_classifier* c);
/* The classifier's parameters (mae_params_*). */
int32_t mae_classifier_params(mae_classifier* c, mae_params** out);
/* Evaluation: images [N, C, H, W] -> logits [N, num_classes]; no gradients, no stochastic depth. */
int32_t mae_classifier_logits(mae_classifier* c, const mae_tensor_view* images, mae_tensor** out);
/* Evaluation: images [N, C, H, W] -> the head's input [N, embed_dim]: patch tokens mean-pooled, then fc_norm. */
int32_t mae_classifier_features(mae_classifier* c, const mae_tensor_view* images, mae_tensor** out);
/* Label-smoothed cross-entropy of labels [N] I64. MAE_FORWARD_DEFAULT: evaluation mode, no gradients;
   MAE_FORWARD_BACKWARD: training mode (stochastic depth on), gradients readable afterwards. */
int32_t mae_classifier_loss(mae_classifier* c, const mae_tensor_view* images, const mae_tensor_view* labels,
                            double label_smoothing, int32_t flags, double* loss_out);

/* Parameters of a model or a classifier, listed in the reference state_dict's order and naming. */
int32_t mae_params_count(const mae_params* p, int64_t* out);
/* name_out stays valid while the owner lives (for head.weight and head.bias: until mae_classifier_probe_head_add
   renames them); shape_out gets dtype and shape, data = NULL. */
int32_t mae_params_info(const mae_params* p, int64_t index, const char** name_out, mae_tensor_view* shape_out,
                        int32_t* trainable_out);
int32_t mae_params_get(const mae_params* p, const char* name, mae_tensor** out);
/* Overwrites a parameter with values converted to its dtype; the shape must match. */
int32_t mae_params_set(mae_params* p, const char* name, const mae_tensor_view* value);
/* The gradient of the last backward pass (MAE_ERR_INVALID_STATE before any). */
int32_t mae_params_grad_get(const mae_params* p, const char* name, mae_tensor** out);

/* Fine-tuners: one training-mode forward, backward and AdamW update per step, with layer-wise learning-rate
   decay (lr · layer_decay^(depth + 1 − layer), layer 0 = embeddings, i + 1 = blocks.i) and no weight decay
   on 1-D parameters, pos_embed and cls_token, as the reference's param_groups_lrd. Partial fine-tuning (the paper's
   third protocol): the last trainable_blocks blocks, fc_norm and the head are trained, the patch embedding, position
   table, [CLS] and first depth − trainable_blocks blocks frozen — no gradient is computed for them, and backward
   stops below the first trained block; the classifier's parameters report which (mae_params_info's trainable_out)
   until another fine-tuner is made for it. trainable_blocks in [0, depth]; depth trains everything; 0 is the linear
   probe: the classifier gets the linear-probe head (mae_classifier_probe_head_add), only its linear layer is
   trained, on features computed without stochastic depth and without gradients. A classifier with the linear-probe
   head takes only trainable_blocks 0. */
int32_t mae_finetuner_create(mae_classifier* c, const mae_adamw_config* config, double layer_decay,
                             double label_smoothing, int32_t trainable_blocks, mae_finetuner** out);
int32_t mae_finetuner_free(mae_finetuner* t);
/* The fine-tuner's learning rate, counts and optimiser state (mae_training_*). */
int32_t mae_finetuner_training(mae_finetuner* t, mae_training** out);
int32_t mae_finetuner_step(mae_finetuner* t, const mae_tensor_view* images, const mae_tensor_view* labels,
                           double* loss_out);
/* The same update with soft targets [N, num_classes] F32/F64 (finite, non-negative, rows summing to 1; e.g. Mixup's
   mixed, smoothed one-hot rows) and timm's SoftTargetCrossEntropy; the tuner's label smoothing is not added. */
int32_t mae_finetuner_step_soft(mae_finetuner* t, const mae_tensor_view* images, const mae_tensor_view* targets,
                                double* loss_out);

/* The training of a trainer or a fine-tuner: AdamW's learning rate and update count (the schedule's position and
   its bias correction) and the updates skipped because a loss or gradient was NaN or infinite: the weights and
   AdamW's moments stayed as they were, while the update count still advanced (schedules and data positions stay
   in step); the step returns its non-finite loss. */
int32_t mae_training_set_lr(mae_training* t, double lr);
int32_t mae_training_step_count(const mae_training* t, int64_t* out);
int32_t mae_training_skipped_count(const mae_training* t, int64_t* out);
int32_t mae_training_set_step_count(mae_training* t, int64_t step);
/* The optimiser's state for checkpoints: "exp_avg.<param>" and "exp_avg_sq.<param>" per trained parameter, then
   "step". */
int32_t mae_training_state_count(const mae_training* t, int64_t* out);
int32_t mae_training_state_info(const mae_training* t, int64_t index, const char** name_out,
                                mae_tensor_view* shape_out);
int32_t mae_training_state_get(const mae_training* t, const char* name, mae_tensor** out);
int32_t mae_training_state_set(mae_training* t, const char* name, const mae_tensor_view* value);

/* Process groups (c10d): data-parallel training over processes and machines. Every rank must make the same
   collective calls in the same order. Creating one blocks until all world_size ranks have arrived, or fails
   with MAE_ERR_PEER_FAILURE after timeout_ms; MAE_ERR_UNSUPPORTED when libmae was built without the backend. */
/* Whether this libmae was built with a backend (1) or without it (0). */
int32_t mae_process_group_backend_available(int32_t backend, int32_t* out);
int32_t mae_process_group_create(const mae_process_group_config* config, mae_process_group** out);
int32_t mae_process_group_free(mae_process_group* g);
int32_t mae_process_group_barrier(mae_process_group* g);
/* In place on caller memory (F32, F64 or I64): the element-wise sum over all ranks. */
int32_t mae_process_group_all_reduce_sum(mae_process_group* g, const mae_tensor_view* inout);
/* In place on caller memory: root's values on every rank. */
int32_t mae_process_group_broadcast(mae_process_group* g, const mae_tensor_view* inout, int32_t root);
/* Every rank's `in` (all of one dtype and shape): out [world_size, ...in.shape]. */
int32_t mae_process_group_all_gather(mae_process_group* g, const mae_tensor_view* in, mae_tensor** out);

/* Makes a trainer or fine-tuner data-parallel over `group` (a collective: every rank calls it). Copies rank 0's
   parameters to all ranks; from then on every update uses the gradients averaged over the ranks, all-reduced in
   buckets of about bucket_bytes (DDP's default is 25 MiB), and steps return the loss averaged over the ranks. A
   non-finite loss or gradient on any rank skips the update on all. After MAE_ERR_PEER_FAILURE the training is
   unusable. */
int32_t mae_training_set_process_group(mae_training* t, mae_process_group* group, int64_t bucket_bytes);

/* Data parallelism inside the process (CPU): each batch (micro-batch) is cut into `threads` near-equal shards
   whose forward and backward passes run at once, one thread each; the gradients are summed in shard order, so
   results are reproducible for a given thread count and equal to the unsplit step's up to rounding. Masks and
   stochastic depth are drawn for the whole batch first. 1 (the default) turns it off; it is ignored on CUDA. Each
   shard's thread runs with its share of the intra-op threads (mae_set_num_threads
   divided by the shard count, at least 1), set for that thread alone (OpenMP's and MKL's thread-local counts)
   and restored when the shard ends; at most one step thread per core is the useful range. */
int32_t mae_training_set_step_threads(mae_training* t, int32_t threads);
/* The shards the last step (or micro-batch) actually cut its batch into: 1 when it was not split (one step thread,
   one image, or CUDA), 0 before any step. */
int32_t mae_training_last_step_shards(const mae_training* t, int32_t* out);

#ifdef __cplusplus
}
#endif

#endif /* MAE_H */
