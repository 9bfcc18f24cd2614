// A/B of AdamW update kernels on one model's trained parameters, isolated from the rest of the step:
//   fused     ATen's _fused_adamw_, one call per parameter group (torch.optim.AdamW(fused=True)): libmae's
//   one-pass  the loop libmae used before (adamw_one_pass.cpp), one parallel_for per tensor
//   fused-each the same, one call per tensor (how AdamW shares tensors out over step threads)
//   tensor    the nine tensor ops per tensor (torch.optim.AdamW's single-tensor path; libmae's elsewhere)
// Rounds alternate the kernels (A B C, then B C A, ...) so drift hits each alike; prints one JSON line per kernel.
//
//   mae_adamw_kernels --config PRESET (mae_preset_*: fashion-mnist, vit-base16, ...) [--device cpu|cuda] [--rounds N]
//   [--threads N]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "adamw_one_pass.h"
#include "mae.h"

namespace {

void check(int32_t status, const char* what) {
    if (status != MAE_OK) {
        std::fprintf(stderr, "%s failed (%d): %s\n", what, status, mae_last_error());
        std::exit(1);
    }
}

// A preset of libmae's registry, norm_pix_loss on as the benchmarks time it.
mae_config config_named(const std::string& name) {
    mae_config c;
    if (mae_preset_config(name.c_str(), &c) != MAE_OK) {
        std::fprintf(stderr, "--config: %s\n", mae_last_error());
        std::exit(2);
    }
    c.norm_pix_loss = 1;
    return c;
}

// The trained parameters' shapes, as libmae lists them, with whether weight decay applies (timm's rule).
struct Shape {
    std::vector<int64_t> sizes;
    bool decay;
};

std::vector<Shape> trained_shapes(const mae_config& c) {
    mae_device cpu{MAE_DEVICE_CPU, 0};
    mae_model* model = nullptr;
    check(mae_model_create(&c, &cpu, 0, &model), "mae_model_create");
    mae_params* params = nullptr;
    check(mae_model_params(model, &params), "mae_model_params");
    int64_t count = 0;
    check(mae_params_count(params, &count), "mae_params_count");
    std::vector<Shape> shapes;
    for (int64_t i = 0; i < count; ++i) {
        const char* name = nullptr;
        mae_tensor_view view{};
        int32_t trainable = 0;
        check(mae_params_info(params, i, &name, &view, &trainable), "mae_params_info");
        if (!trainable) continue;
        const std::string n = name;
        const bool bias = n.size() >= 5 && n.compare(n.size() - 5, 5, ".bias") == 0;
        shapes.push_back({std::vector<int64_t>(view.shape, view.shape + view.ndim), view.ndim > 1 && !bias});
    }
    mae_model_free(model);
    return shapes;
}

struct Slot {
    torch::Tensor p, g, m, v;
    bool decay;
};

const double kLr = 1e-4, kB1 = 0.9, kB2 = 0.95, kEps = 1e-8, kWd = 0.05;

void one_pass(std::vector<Slot>& slots, int64_t t) {
    const double bc1 = 1 - std::pow(kB1, t), bc2_sqrt = std::sqrt(1 - std::pow(kB2, t));
    for (auto& s : slots) {
        const mae::AdamWScalars sc{s.decay ? 1 - kLr * kWd : 1.0, kB1, kB2, bc2_sqrt, kEps, kLr / bc1};
        at::parallel_for(0, s.p.numel(), at::internal::GRAIN_SIZE, [&](int64_t b, int64_t e) {
            mae::adamw_loop(s.p.data_ptr<float>() + b, s.g.data_ptr<float>() + b, s.m.data_ptr<float>() + b,
                            s.v.data_ptr<float>() + b, e - b, sc);
        });
    }
}

void tensor_ops(std::vector<Slot>& slots, int64_t t) {
    const double bc1 = 1 - std::pow(kB1, t), bc2_sqrt = std::sqrt(1 - std::pow(kB2, t));
    for (auto& s : slots) {
        if (s.decay) s.p.mul_(1 - kLr * kWd);
        s.m.lerp_(s.g, 1 - kB1);
        s.v.mul_(kB2).addcmul_(s.g, s.g, 1 - kB2);
        s.p.addcdiv_(s.m, (s.v.sqrt() / bc2_sqrt).add_(kEps), -kLr / bc1);
    }
}

void fused(std::vector<Slot>& slots, torch::Tensor& step) {
    step.add_(1);
    for (bool decay : {true, false}) {
        std::vector<torch::Tensor> p, g, m, v, steps;
        for (auto& s : slots)
            if (s.decay == decay) {
                p.push_back(s.p), g.push_back(s.g), m.push_back(s.m), v.push_back(s.v), steps.push_back(step);
            }
        at::_fused_adamw_(p, g, m, v, {}, steps, kLr, kB1, kB2, decay ? kWd : 0.0, kEps, false, false);
    }
}

void fused_each(std::vector<Slot>& slots, torch::Tensor& step) {
    step.add_(1);
    for (auto& s : slots)
        at::_fused_adamw_({s.p}, {s.g}, {s.m}, {s.v}, {}, {step}, kLr, kB1, kB2, s.decay ? kWd : 0.0, kEps, false,
                          false);
}

std::vector<Slot> make_slots(const std::vector<Shape>& shapes, const torch::Device& device) {
    std::vector<Slot> slots;
    for (const auto& s : shapes) {
        auto opts = torch::TensorOptions().dtype(torch::kFloat).device(device);
        slots.push_back({torch::randn(s.sizes, opts), torch::randn(s.sizes, opts) * 1e-3, torch::zeros(s.sizes, opts),
                         torch::zeros(s.sizes, opts), s.decay});
    }
    return slots;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    std::string config = "fashion-mnist", device_name = "cpu";
    int rounds = 15, threads = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        if (k == "--config")
            config = argv[i + 1];
        else if (k == "--device")
            device_name = argv[i + 1];
        else if (k == "--rounds")
            rounds = std::atoi(argv[i + 1]);
        else if (k == "--threads")
            threads = std::atoi(argv[i + 1]);
    }
    if (threads > 0) torch::set_num_threads(threads);
    const torch::Device device(device_name);
    const auto shapes = trained_shapes(config_named(config));
    const std::vector<std::string> kernels = device.is_cpu()
                                                 ? std::vector<std::string>{"fused", "fused-each", "one-pass", "tensor"}
                                                 : std::vector<std::string>{"fused", "tensor"};
    std::map<std::string, std::vector<Slot>> slots;
    std::map<std::string, std::vector<double>> ms;
    for (const auto& k : kernels) {
        torch::manual_seed(0);  // every kernel starts from the same weights and gradients
        slots[k] = make_slots(shapes, device);
    }
    std::map<std::string, torch::Tensor> steps;
    for (const auto& k : kernels)
        steps[k] = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat).device(device));
    torch::NoGradGuard no_grad;
    int64_t numel = 0;
    for (const auto& s : slots[kernels[0]]) numel += s.p.numel();
    for (int r = 0; r < rounds + 2; ++r) {  // the first two rounds warm up
        for (size_t j = 0; j < kernels.size(); ++j) {
            const auto& k = kernels[(j + r) % kernels.size()];
            if (device.is_cuda()) torch::cuda::synchronize();
            const auto start = std::chrono::steady_clock::now();
            if (k == "one-pass")
                one_pass(slots[k], r + 1);
            else if (k == "fused")
                fused(slots[k], steps[k]);
            else if (k == "fused-each")
                fused_each(slots[k], steps[k]);
            else
                tensor_ops(slots[k], r + 1);
            if (device.is_cuda()) torch::cuda::synchronize();
            const double elapsed =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
            if (r >= 2) ms[k].push_back(elapsed);
        }
    }
    // The kernels must agree: the same update from the same start.
    const auto& ref = slots[kernels[0]];
    for (const auto& k : kernels) {
        double diff = 0;
        for (size_t i = 0; i < ref.size(); ++i)
            diff = std::max(diff, (slots[k][i].p - ref[i].p).abs().max().item<double>());
        std::printf(
            "{\"bench\": \"adamw-kernels\", \"config\": \"%s\", \"device\": \"%s\", \"kernel\": \"%s\", "
            "\"params\": %lld, \"threads\": %d, \"rounds\": %d, \"median_ms\": %.3f, "
            "\"max_abs_diff_vs_%s\": %.3g}\n",
            config.c_str(), device_name.c_str(), k.c_str(), static_cast<long long>(numel), torch::get_num_threads(),
            rounds, median(ms[k]), kernels[0].c_str(), diff);
    }
    return 0;
}
