// What the C ABI's files share (c_api_*.cpp, one per section of mae.h): the handles behind mae.h's opaque
// types, the exception guard every entry point runs in, and the export of tensors to the caller.
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "classifier.h"
#include "distributed.h"
#include "encoder.h"
#include "errors.h"
#include "finetune.h"
#include "mae.h"
#include "masking.h"
#include "model.h"
#include "trainer.h"

// A model's or classifier's parameters: borrowed, it lives inside its owner's handle (mae_model_params).
struct mae_params {
    std::vector<mae::Param>* params;
    std::shared_mutex* lock;
};
// A trainer's or fine-tuner's training: borrowed the same way (mae_trainer_training).
struct mae_training {
    mae::AnyTraining* impl;
};

struct mae_model {
    explicit mae_model(std::shared_ptr<mae::MaeModel> m) : impl(std::move(m)), params{&impl->params(), &impl->lock()} {}
    std::shared_ptr<mae::MaeModel> impl;
    std::atomic<uint64_t> last_input_address{0};
    mae_params params;
};
struct mae_masker {
    std::unique_ptr<mae::Masker> impl;
};
struct mae_trainer {
    explicit mae_trainer(std::unique_ptr<mae::Trainer> t) : impl(std::move(t)), training{impl.get()} {}
    std::unique_ptr<mae::Trainer> impl;
    mae_training training;
};
struct mae_tensor {
    torch::Tensor value;  // host, contiguous
};
struct mae_classifier {
    explicit mae_classifier(std::shared_ptr<mae::VitClassifier> c)
        : impl(std::move(c)), params{&impl->params(), &impl->lock()} {}
    std::shared_ptr<mae::VitClassifier> impl;
    mae_params params;
};
struct mae_encoder {
    explicit mae_encoder(std::unique_ptr<mae::VitEncoder> e)
        : impl(std::move(e)), params{&impl->params(), &impl->lock()} {}
    std::unique_ptr<mae::VitEncoder> impl;
    mae_params params;
};
struct mae_finetuner {
    explicit mae_finetuner(std::unique_ptr<mae::FineTuner> t) : impl(std::move(t)), training{impl.get()} {}
    std::unique_ptr<mae::FineTuner> impl;
    mae_training training;
};
struct mae_process_group {
    std::shared_ptr<mae::ProcessGroup> impl;  // shared with the trainers made data-parallel over it
};

namespace mae::abi {

// Sets the calling thread's message for mae_last_error() and returns `status`.
int32_t fail(int32_t status, const std::string& message);

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

// The device a caller's mae_device names, checked against what this LibTorch sees.
torch::Device device_of(const mae_device* d);

// A host, contiguous, detached copy the caller owns (no copy when it already is one).
mae_tensor* export_tensor(const torch::Tensor& t);

}  // namespace mae::abi
