// Per-sample random masking: which patches each image keeps, as the reference random_masking does.
#pragma once

#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <mutex>

namespace mae {

// A masker supplies the uniform noise whose argsort decides the mask; the ratio says how much is removed.
class Masker {
public:
    explicit Masker(double mask_ratio);
    virtual ~Masker() = default;
    double mask_ratio() const { return mask_ratio_; }
    // [N, L] noise on `device`; small noise is kept.
    virtual torch::Tensor noise(int64_t n, int64_t l, const torch::Device& device) = 0;
    // The generator state (U8) that decides the next masks; InvalidState for maskers without one.
    virtual torch::Tensor state();
    virtual void set_state(const torch::Tensor& state);

private:
    double mask_ratio_;
};

// Fresh uniform noise per call from its own seeded generator: the same seed gives the same masks.
class RandomMasker : public Masker {
public:
    RandomMasker(double mask_ratio, uint64_t seed);
    torch::Tensor noise(int64_t n, int64_t l, const torch::Device& device) override;
    torch::Tensor state() override;
    void set_state(const torch::Tensor& state) override;

protected:
    // Uniform [N, L] draws from the generator, on the CPU.
    torch::Tensor uniform(int64_t n, int64_t l);

private:
    std::mutex mutex_;  // the generator's state advances on every call
    at::Generator generator_;
};

// Noise that makes argsort remove whole rectangles first (BEiT's block-wise masking), then random patches
// to reach the exact count.
class BlockMasker final : public RandomMasker {
public:
    BlockMasker(double mask_ratio, uint64_t seed) : RandomMasker(mask_ratio, seed) {}
    torch::Tensor noise(int64_t n, int64_t l, const torch::Device& device) override;
};

// Noise that keeps one patch of every stride × stride cell, at a random offset per image.
class GridMasker final : public RandomMasker {
public:
    GridMasker(double mask_ratio, uint64_t seed);
    torch::Tensor noise(int64_t n, int64_t l, const torch::Device& device) override;

private:
    int64_t stride_;
};

// The caller's noise, used as given on every call.
class FixedNoiseMasker final : public Masker {
public:
    FixedNoiseMasker(torch::Tensor noise, double mask_ratio);
    torch::Tensor noise(int64_t n, int64_t l, const torch::Device& device) override;

private:
    torch::Tensor noise_;  // [N, L]
};

struct Masking {
    torch::Tensor x_masked;     // [N, len_keep, D]
    torch::Tensor mask;         // [N, L], 1 = removed
    torch::Tensor ids_restore;  // [N, L]
};

// len_keep = floor(L·(1 − ratio)); ids_shuffle = argsort(noise) (stable, so ties keep the lower index);
// ids_restore = argsort(ids_shuffle).
int64_t len_keep(int64_t l, double mask_ratio);
Masking random_masking(const torch::Tensor& x, const torch::Tensor& noise, double mask_ratio);

}  // namespace mae
