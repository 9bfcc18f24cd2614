// AdamW's per-element update as one pass over memory (plain arrays: no libtorch here, so this file can be
// compiled with its own optimisation flags). libmae's CPU update until ATen's fused kernel beat it
// (benchmarks/README.md); kept here so that mae_adamw_kernels can rerun that A/B.
#pragma once

#include <cstdint>

namespace mae {

// The scalars of one update (already scaled by the parameter's lr_scale and the step's bias corrections).
struct AdamWScalars {
    double decay;  // 1 - lr * weight_decay, or 1 without decay
    double beta1, beta2;
    double bias_correction2_sqrt;
    double eps;
    double step_size;  // lr / bias_correction1
};

// torch.optim.AdamW's single-tensor update over n elements, in the order of its tensor ops:
//   p *= decay; m = m*b1 + (1-b1)*g; v = v*b2 + (1-b2)*g*g; p += (-step_size*m) / (sqrt(v)/bc2_sqrt + eps)
// Those nine tensor ops read or write each element over twenty times and allocate two temporaries; this
// reads p, g, m, v once and writes p, m, v once.
void adamw_loop(float* p, const float* g, float* m, float* v, int64_t n, const AdamWScalars& s);
void adamw_loop(double* p, const double* g, double* m, double* v, int64_t n, const AdamWScalars& s);

}  // namespace mae
