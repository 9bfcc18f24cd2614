// Conversions between mae_tensor_view (caller memory) and torch tensors.
#pragma once

#include <torch/torch.h>

#include <string>

#include "mae.h"

namespace mae {

torch::ScalarType scalar_type_of(int32_t dtype);  // throws InvalidArgument for an unknown code
int32_t dtype_code_of(torch::ScalarType type);

// Validates `view` (non-null data, known dtype, 1..MAE_MAX_DIMS positive dims) and wraps its memory
// in place, without copying. `what` names the argument in error messages.
torch::Tensor wrap_view(const mae_tensor_view* view, const std::string& what);

// "[2, 3, 4]", for error messages.
std::string shape_string(c10::IntArrayRef shape);

// Copies `values` into `target` (a parameter, an optimiser state) after checking that the shapes match and the
// values are F32 or F64; `what` names the target in the messages, e.g. "parameter 'cls_token'".
void copy_checked(const torch::Tensor& target, const torch::Tensor& values, const std::string& what);

// Fills `out` with dtype and shape of `t`; data = NULL.
void describe(const torch::Tensor& t, mae_tensor_view* out);

// Sets `gen` to `state`, which must be a U8 tensor like the one gen.get_state() gives; `what` names the state and
// `getter` the C function that hands it out, in the error message.
void restore_generator_state(at::Generator& gen, const torch::Tensor& state, const std::string& what,
                             const std::string& getter);

}  // namespace mae
