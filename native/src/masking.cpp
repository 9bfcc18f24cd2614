#include "masking.h"

#include "errors.h"

namespace mae {

namespace {

torch::Tensor argsort_rows(const torch::Tensor& t) {
    return std::get<1>(torch::sort(t, /*stable=*/true, /*dim=*/1, /*descending=*/false));
}

}  // namespace

Masker::Masker(double mask_ratio) : mask_ratio_(mask_ratio) {
    require(mask_ratio >= 0.0 && mask_ratio < 1.0,
            "mask_ratio must be in [0, 1), got " + std::to_string(mask_ratio));
}

torch::Tensor Masker::state() {
    throw InvalidState("a masker from fixed noise has no generator state");
}

void Masker::set_state(const torch::Tensor&) {
    throw InvalidState("a masker from fixed noise has no generator state");
}

RandomMasker::RandomMasker(double mask_ratio, uint64_t seed)
    : Masker(mask_ratio), generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

torch::Tensor RandomMasker::noise(int64_t n, int64_t l, const torch::Device& device) {
    std::lock_guard<std::mutex> lock(mutex_);
    // Drawn on the CPU so that a seed means the same masks on every device.
    auto noise = torch::rand({n, l}, generator_, torch::TensorOptions().dtype(torch::kFloat32));
    return noise.to(device);
}

torch::Tensor RandomMasker::state() {
    std::lock_guard<std::mutex> lock(mutex_);
    return generator_.get_state();
}

void RandomMasker::set_state(const torch::Tensor& state) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto current = generator_.get_state();
    require(state.scalar_type() == torch::kUInt8 && state.dim() == 1 && state.numel() == current.numel(),
            "masker state must be U8 [" + std::to_string(current.numel()) + "], as mae_masker_state_get returns");
    generator_.set_state(state.contiguous());
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

    auto ids_shuffle = argsort_rows(noise);       // ascending: small is keep, large is remove
    auto ids_restore = argsort_rows(ids_shuffle);

    auto ids_keep = ids_shuffle.narrow(1, 0, keep);
    auto x_masked = torch::gather(x, 1, ids_keep.unsqueeze(-1).expand({n, keep, d}));

    // Slot k of the shuffled order is removed iff k >= len_keep; unshuffled, that is ids_restore >= len_keep.
    auto mask = ids_restore.ge(keep).to(x.scalar_type());
    return {x_masked, mask, ids_restore};
}

}  // namespace mae
