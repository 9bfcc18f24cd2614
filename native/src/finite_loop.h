// Whether an array holds no Inf or NaN, in one read and no temporary (plain arrays: no libtorch here, so this file
// can be compiled with its own optimisation flags); torch::isfinite(g).all() writes a boolean tensor of every
// element first, for ViT-B/16's 112 M gradients every step.
#pragma once

#include <cstdint>

namespace mae {

// True when none of x[0..n) has an all-ones exponent (Inf or NaN). Integer tests on the bits: they vectorise
// without reordering float arithmetic, and no float flag can assume them away.
bool all_finite_loop(const float* x, int64_t n);
bool all_finite_loop(const double* x, int64_t n);

}  // namespace mae
