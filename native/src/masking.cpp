#include "masking.h"

#include "errors.h"
#include "tensors.h"

#include <cmath>
#include <vector>

namespace mae {

namespace {

torch::Tensor argsort_rows(const torch::Tensor& t) {
    return std::get<1>(torch::sort(t, /*stable=*/true, /*dim=*/1, /*descending=*/false));
}

}  // namespace

Masker::Masker(double mask_ratio) : mask_ratio_(mask_ratio) {
    require(mask_ratio >= 0.0 && mask_ratio < 1.0, "mask_ratio must be in [0, 1), got " + std::to_string(mask_ratio));
}

torch::Tensor Masker::state() { throw InvalidState("a masker from fixed noise has no generator state"); }

void Masker::set_state(const torch::Tensor&) { throw InvalidState("a masker from fixed noise has no generator state"); }

RandomMasker::RandomMasker(double mask_ratio, uint64_t seed)
    : Masker(mask_ratio), generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

torch::Tensor RandomMasker::uniform(int64_t n, int64_t l) {
    std::lock_guard<std::mutex> lock(mutex_);
    // Drawn on the CPU so that a seed means the same masks on every device.
    return torch::rand({n, l}, generator_, torch::TensorOptions().dtype(torch::kFloat32));
}

torch::Tensor RandomMasker::noise(int64_t n, int64_t l, const torch::Device& device) {
    return uniform(n, l).to(device);
}

namespace {

int64_t grid_side(int64_t l) {
    const auto g = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(l))));
    require(g * g == l, "block-wise and grid masks need a square patch grid, got L = " + std::to_string(l));
    return g;
}

}  // namespace

torch::Tensor BlockMasker::noise(int64_t n, int64_t l, const torch::Device& device) {
    const int64_t g = grid_side(l), target = l - len_keep(l, mask_ratio());
    // One row of draws per image: uniform noise for the final order plus draws for the rectangles.
    auto u = uniform(n, l);
    auto draws = uniform(n, 4 * 64);
    auto acc = u.accessor<float, 2>();
    auto d = draws.accessor<float, 2>();
    const double log_lo = std::log(0.3), log_hi = std::log(1 / 0.3);
    for (int64_t i = 0; i < n; ++i) {
        std::vector<char> removed(static_cast<size_t>(l), 0);
        int64_t count = 0;
        for (int64_t attempt = 0; attempt < 64 && count < target; ++attempt) {
            const float* r = &d[i][4 * attempt];
            // BEiT: area in [16, what is still to remove], log-uniform aspect ratio
            const double hi_area = std::max<double>(16, static_cast<double>(target - count));
            const double area = 16 + (hi_area - 16) * r[0];
            const double aspect = std::exp(log_lo + (log_hi - log_lo) * r[1]);
            const auto h = static_cast<int64_t>(std::llround(std::sqrt(area * aspect)));
            const auto w = static_cast<int64_t>(std::llround(std::sqrt(area / aspect)));
            if (h < 1 || w < 1 || h > g || w > g) continue;
            const auto top = static_cast<int64_t>(r[2] * static_cast<float>(g - h + 1));
            const auto left = static_cast<int64_t>(r[3] * static_cast<float>(g - w + 1));
            for (int64_t y = top; y < top + h; ++y)
                for (int64_t x = left; x < left + w; ++x) {
                    auto& cell = removed[static_cast<size_t>(y * g + x)];
                    if (!cell && count < target) {
                        cell = 1;
                        ++count;
                    }
                }
        }
        // Removed patches sort last; the rest stay random, so argsort tops up or trims to the exact count.
        for (int64_t k = 0; k < l; ++k) acc[i][k] += removed[static_cast<size_t>(k)] ? 1.0f : 0.0f;
    }
    return u.to(device);
}

GridMasker::GridMasker(double mask_ratio, uint64_t seed) : RandomMasker(mask_ratio, seed) {
    stride_ = static_cast<int64_t>(std::llround(1.0 / std::sqrt(1.0 - mask_ratio)));
    require(stride_ >= 2 && std::abs(1.0 - 1.0 / static_cast<double>(stride_ * stride_) - mask_ratio) < 1e-9,
            "grid masks keep one patch of every s × s, so mask_ratio must be 1 − 1/s² (0.75, 0.888…, 0.9375), got " +
                std::to_string(mask_ratio));
}

torch::Tensor GridMasker::noise(int64_t n, int64_t l, const torch::Device& device) {
    const int64_t g = grid_side(l), s = stride_;
    auto u = uniform(n, l);
    auto offsets = uniform(n, 2);
    auto acc = u.accessor<float, 2>();
    auto off = offsets.accessor<float, 2>();
    for (int64_t i = 0; i < n; ++i) {
        const auto oy = static_cast<int64_t>(off[i][0] * static_cast<float>(s));
        const auto ox = static_cast<int64_t>(off[i][1] * static_cast<float>(s));
        for (int64_t k = 0; k < l; ++k) {
            const bool on_grid = (k / g) % s == oy && (k % g) % s == ox;
            acc[i][k] += on_grid ? 0.0f : 1.0f;  // grid patches sort first and are kept
        }
    }
    return u.to(device);
}

torch::Tensor RandomMasker::state() {
    std::lock_guard<std::mutex> lock(mutex_);
    return generator_.get_state();
}

void RandomMasker::set_state(const torch::Tensor& state) {
    std::lock_guard<std::mutex> lock(mutex_);
    restore_generator_state(generator_, state, "masker state", "mae_masker_state_get");
}

FixedNoiseMasker::FixedNoiseMasker(torch::Tensor noise, double mask_ratio)
    : Masker(mask_ratio), noise_(std::move(noise)) {
    require(noise_.dim() == 2, "noise must be [N, L], got " + std::to_string(noise_.dim()) + " dimensions");
}

torch::Tensor FixedNoiseMasker::noise(int64_t n, int64_t l, const torch::Device& device) {
    require(noise_.size(0) == n && noise_.size(1) == l,
            "noise must be [N, L] = [" + std::to_string(n) + ", " + std::to_string(l) + "] for these images, got [" +
                std::to_string(noise_.size(0)) + ", " + std::to_string(noise_.size(1)) + "]");
    return noise_.to(device);
}

int64_t len_keep(int64_t l, double mask_ratio) {
    return static_cast<int64_t>(static_cast<double>(l) * (1.0 - mask_ratio));  // Python's int(L * (1 - r))
}

Masking random_masking(const torch::Tensor& x, const torch::Tensor& noise, double mask_ratio) {
    const int64_t n = x.size(0), l = x.size(1), d = x.size(2);
    const int64_t keep = len_keep(l, mask_ratio);

    auto ids_shuffle = argsort_rows(noise);  // ascending: small is keep, large is remove
    auto ids_restore = argsort_rows(ids_shuffle);

    auto ids_keep = ids_shuffle.narrow(1, 0, keep);
    auto x_masked = torch::gather(x, 1, ids_keep.unsqueeze(-1).expand({n, keep, d}));

    // Slot k of the shuffled order is removed iff k >= len_keep; unshuffled, that is ids_restore >= len_keep.
    auto mask = ids_restore.ge(keep).to(x.scalar_type());
    return {x_masked, mask, ids_restore};
}

}  // namespace mae
