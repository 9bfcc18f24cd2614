// What the native tests share: a tolerance check that counts its failures and names each one on stderr.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace mae_test {

inline int failures = 0;

// |got - want| ≤ tol · max(1, max |want|), elementwise, compared in float64
inline void expect_close(const torch::Tensor& got, const torch::Tensor& want, double tol, const std::string& what) {
    const double scale = std::max(1.0, want.abs().max().item<double>());
    const double err = (got.to(torch::kFloat64) - want.to(torch::kFloat64)).abs().max().item<double>();
    if (!(err <= tol * scale)) {
        std::fprintf(stderr, "FAIL %s: max error %g exceeds %g\n", what.c_str(), err, tol * scale);
        ++failures;
    }
}

}  // namespace mae_test
