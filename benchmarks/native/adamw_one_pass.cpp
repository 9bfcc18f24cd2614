#include "adamw_one_pass.h"

#include "loop_clones.h"

#include <cmath>

namespace mae {

namespace {

// The scalars are converted to T as ATen converts a Scalar for a T tensor; each line follows one tensor op.
template <typename T>
inline void update(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, int64_t n,
                   const AdamWScalars& s) {
    const T decay = static_cast<T>(s.decay), b1 = static_cast<T>(s.beta1), a1 = static_cast<T>(1.0 - s.beta1),
            b2 = static_cast<T>(s.beta2), a2 = static_cast<T>(1.0 - s.beta2),
            bc2 = static_cast<T>(s.bias_correction2_sqrt), eps = static_cast<T>(s.eps),
            neg_step = static_cast<T>(-s.step_size);
    for (int64_t i = 0; i < n; ++i) {
        const T gi = g[i];
        const T mi = m[i] * b1 + a1 * gi;           // exp_avg.mul_(b1).add_(grad, 1 - b1)
        const T vi = v[i] * b2 + a2 * gi * gi;      // exp_avg_sq.mul_(b2).addcmul_(grad, grad, 1 - b2)
        const T denom = std::sqrt(vi) / bc2 + eps;  // (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay + neg_step * mi / denom;  // param.mul_(decay); param.addcdiv_(exp_avg, denom, -step)
    }
}

}  // namespace

// FMA in neither clone, so every machine rounds alike.
MAE_LOOP_CLONES void adamw_loop(float* p, const float* g, float* m, float* v, int64_t n, const AdamWScalars& s) {
    update(p, g, m, v, n, s);
}

MAE_LOOP_CLONES void adamw_loop(double* p, const double* g, double* m, double* v, int64_t n, const AdamWScalars& s) {
    update(p, g, m, v, n, s);
}

}  // namespace mae
