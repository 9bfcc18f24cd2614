#include "tensors.h"

#include "errors.h"

namespace mae {

torch::ScalarType scalar_type_of(int32_t dtype) {
    switch (dtype) {
        case MAE_DTYPE_F32:
            return torch::kFloat32;
        case MAE_DTYPE_F64:
            return torch::kFloat64;
        case MAE_DTYPE_I64:
            return torch::kInt64;
        case MAE_DTYPE_U8:
            return torch::kUInt8;
        default:
            throw InvalidArgument("unknown dtype code " + std::to_string(dtype));
    }
}

int32_t dtype_code_of(torch::ScalarType type) {
    switch (type) {
        case torch::kFloat32:
            return MAE_DTYPE_F32;
        case torch::kFloat64:
            return MAE_DTYPE_F64;
        case torch::kInt64:
            return MAE_DTYPE_I64;
        case torch::kUInt8:
            return MAE_DTYPE_U8;
        default:
            throw InvalidArgument(std::string("no ABI dtype for ") + c10::toString(type));
    }
}

torch::Tensor wrap_view(const mae_tensor_view* view, const std::string& what) {
    require(view != nullptr, what + " must not be null");
    require(view->data != nullptr, what + ".data must not be null");
    require(view->ndim >= 1 && view->ndim <= MAE_MAX_DIMS,
            what + ".ndim must be in [1, " + std::to_string(MAE_MAX_DIMS) + "], got " + std::to_string(view->ndim));
    std::vector<int64_t> shape(view->shape, view->shape + view->ndim);
    for (int32_t i = 0; i < view->ndim; ++i)
        require(shape[i] > 0,
                what + ".shape[" + std::to_string(i) + "] must be positive, got " + std::to_string(shape[i]));
    auto type = scalar_type_of(view->dtype);
    return torch::from_blob(view->data, shape, torch::TensorOptions().dtype(type));
}

std::string shape_string(c10::IntArrayRef shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

void copy_checked(const torch::Tensor& target, const torch::Tensor& values, const std::string& what) {
    require(values.sizes().equals(target.sizes()),
            what + " has shape " + shape_string(target.sizes()) + ", got " + shape_string(values.sizes()));
    require(values.is_floating_point(), what + " needs F32 or F64 values");
    torch::NoGradGuard no_grad;
    target.copy_(values);
}

void describe(const torch::Tensor& t, mae_tensor_view* out) {
    require(t.dim() <= MAE_MAX_DIMS, "tensor has more than MAE_MAX_DIMS dimensions");
    out->data = nullptr;
    out->dtype = dtype_code_of(t.scalar_type());
    out->ndim = static_cast<int32_t>(t.dim());
    for (int64_t i = 0; i < MAE_MAX_DIMS; ++i) out->shape[i] = i < t.dim() ? t.size(i) : 0;
}

void restore_generator_state(at::Generator& gen, const torch::Tensor& state, const std::string& what,
                             const std::string& getter) {
    auto current = gen.get_state();
    require(state.scalar_type() == torch::kUInt8 && state.dim() == 1 && state.numel() == current.numel(),
            what + " must be U8 [" + std::to_string(current.numel()) + "], as " + getter + " returns");
    gen.set_state(state.contiguous());
}

}  // namespace mae
