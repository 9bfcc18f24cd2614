// Times libmae's training step (forward, backward, AdamW) called straight through the C ABI: the floor that
// the Java-driven step (mae bench) is compared against. Same protocol as mae bench and bench_step.py:
// warm-up steps, then each measured step timed alone; prints one JSON line. Built twice: as the program, and as a
// library whose mae_train_step_driver_run the JVM calls once (DriverInJvm: the same loop inside a JVM process, to
// tell the JVM's presence from the Java code's cost), which also exports the step alone for `mae bench
// --alternate-native` (one driver step after each Java step in one process: the Java code's cost without the drift).
//
// With --twin 1 it builds the same step twice, on two models of their own, and alternates them step by step (each
// first every other step): the A/A control of --alternate-native, i.e. how far two identical steps in one process
// drift apart with nothing but their memory different.
//
//   mae_train_step_driver --config PRESET (mae_preset_*: fashion-mnist, vit-base16, ...) [--batch N] [--steps N]
//   [--warmup N] [--threads N]
//                         [--step-threads N] [--name NAME (the "driver" field; default c++)] [--twin 1]
//                         [--device cpu|cuda] [--precision f32|bf16]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "mae.h"

namespace {

void check(int32_t status, const char* what) {
    if (status != MAE_OK) {
        std::fprintf(stderr, "%s failed (%d): %s\n", what, status, mae_last_error());
        std::exit(1);
    }
}

// A preset of libmae's registry as the benchmarks time it (norm_pix_loss on; --precision sets the dtype), and its
// default batch: 256 for images of up to 32 px, else 8 (as mae bench).
bool config_named(const std::string& name, mae_config* c, int* batch) {
    if (mae_preset_config(name.c_str(), c) != MAE_OK) return false;
    c->norm_pix_loss = 1;
    *batch = c->img_size <= 32 ? 256 : 8;
    return true;
}

// The driver's options, model, masker, trainer and images: one training step's worth of state.
struct Driver {
    std::string config = "fashion-mnist", name = "c++", device = "cpu", precision = "f32";
    int batch = -1, steps = 10, warmup = 3, threads = 1, step_threads = 1, twin = 0;
    mae_model* model = nullptr;
    mae_masker* masker = nullptr;
    mae_trainer* trainer = nullptr;
    std::vector<float> pixels;
    mae_tensor_view images{};
    double loss = 0;

    ~Driver() {
        mae_trainer_free(trainer);
        mae_masker_free(masker);
        mae_model_free(model);
    }

    // Parses the options (argv[0] is the program name) and builds the step; false, having said why, on bad options.
    bool open(int argc, char** argv) {
        for (int i = 1; i + 1 < argc; i += 2) {
            std::string k = argv[i];
            if (k == "--config")
                config = argv[i + 1];
            else if (k == "--batch")
                batch = std::atoi(argv[i + 1]);
            else if (k == "--steps")
                steps = std::atoi(argv[i + 1]);
            else if (k == "--warmup")
                warmup = std::atoi(argv[i + 1]);
            else if (k == "--threads")
                threads = std::atoi(argv[i + 1]);
            else if (k == "--step-threads")
                step_threads = std::atoi(argv[i + 1]);
            else if (k == "--name")
                name = argv[i + 1];
            else if (k == "--twin")
                twin = std::atoi(argv[i + 1]);
            else if (k == "--device")
                device = argv[i + 1];
            else if (k == "--precision")
                precision = argv[i + 1];
            else {
                std::fprintf(stderr, "unknown option %s\n", k.c_str());
                return false;
            }
        }
        mae_config cfg;
        int default_batch;
        if (!config_named(config, &cfg, &default_batch)) {
            std::fprintf(stderr, "--config: %s\n", mae_last_error());
            return false;
        }
        if (precision != "f32" && precision != "bf16") {
            std::fprintf(stderr, "unknown precision %s (f32, bf16)\n", precision.c_str());
            return false;
        }
        if (device != "cpu" && device != "cuda") {
            std::fprintf(stderr, "unknown device %s (cpu, cuda)\n", device.c_str());
            return false;
        }
        if (precision == "bf16") cfg.dtype = MAE_DTYPE_BF16;
        if (batch <= 0) batch = default_batch;
        check(mae_set_num_threads(threads), "mae_set_num_threads");

        mae_device dev{device == "cuda" ? MAE_DEVICE_CUDA : MAE_DEVICE_CPU, 0};
        check(mae_model_create(&cfg, &dev, 0, &model), "mae_model_create");
        check(mae_masker_random(0.75, 0, &masker), "mae_masker_random");
        mae_adamw_config adamw{1.5e-4, 0.9, 0.95, 1e-8, 0.05};
        check(mae_trainer_create(model, &adamw, &trainer), "mae_trainer_create");
        mae_training* training = nullptr;
        check(mae_trainer_training(trainer, &training), "mae_trainer_training");
        check(mae_training_set_step_threads(training, step_threads), "mae_training_set_step_threads");

        pixels.resize(static_cast<size_t>(batch) * cfg.in_chans * cfg.img_size * cfg.img_size);
        std::mt19937 gen(0);
        std::normal_distribution<float> normal;
        for (auto& p : pixels) p = normal(gen);
        images.data = pixels.data();
        images.dtype = MAE_DTYPE_F32;
        images.ndim = 4;
        images.shape[0] = batch;
        images.shape[1] = cfg.in_chans;
        images.shape[2] = cfg.img_size;
        images.shape[3] = cfg.img_size;
        return true;
    }

    // One training step, timed alone, in milliseconds.
    double step() {
        auto t0 = std::chrono::steady_clock::now();
        check(mae_trainer_step(trainer, &images, masker, &loss), "mae_trainer_step");
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
};

// The 25th, 50th and 75th percentiles of step times.
struct Quartiles {
    double p25, p50, p75;
    explicit Quartiles(std::vector<double> ms) {
        std::sort(ms.begin(), ms.end());
        auto q = [&](double p) { return ms[std::min(ms.size() - 1, static_cast<size_t>(p * (ms.size() - 1) + 0.5))]; };
        p25 = q(0.25), p50 = q(0.5), p75 = q(0.75);
    }
};

std::string in_order(const std::vector<double>& ms) {
    std::string s = "[";
    char buf[32];
    for (size_t i = 0; i < ms.size(); ++i) {
        std::snprintf(buf, sizeof buf, i ? ",%.3f" : "%.3f", ms[i]);
        s += buf;
    }
    return s + "]";
}

}  // namespace

#define MAE_DRIVER_EXPORT extern "C" __attribute__((visibility("default")))

MAE_DRIVER_EXPORT int mae_train_step_driver_run(int argc, char** argv) {
    Driver d, twin;
    if (!d.open(argc, argv) || (d.twin && !twin.open(argc, argv))) return 2;
    for (int i = 0; i < d.warmup; ++i) {
        d.step();
        if (d.twin) twin.step();
    }
    std::vector<double> ms, twin_ms;
    for (int i = 0; i < d.steps; ++i) {
        if (!d.twin) {
            ms.push_back(d.step());
        } else if (i % 2 == 0) {
            ms.push_back(d.step());
            twin_ms.push_back(twin.step());
        } else {
            twin_ms.push_back(twin.step());
            ms.push_back(d.step());
        }
    }
    Quartiles q(ms);
    // OpenMP's wait policy, the one thread setting outside libtorch's own
    const char* wait = std::getenv("OMP_WAIT_POLICY");
    std::printf(
        "{\"driver\": \"%s\", \"config\": \"%s\", \"batch\": %d, \"threads\": %d, \"step_threads\": %d, \"steps\": %d, "
        "\"device\": \"%s\", \"precision\": \"%s\", "
        "\"median_ms\": %.3f, \"p25_ms\": %.3f, \"p75_ms\": %.3f, \"images_per_s\": %.2f, \"last_loss\": %.6f, "
        "\"omp_wait_policy\": \"%s\"",
        d.name.c_str(), d.config.c_str(), d.batch, d.threads, d.step_threads, d.steps, d.device.c_str(),
        d.precision.c_str(), q.p50, q.p25, q.p75, 1000.0 * d.batch / q.p50, d.loss, wait ? wait : "default");
    if (d.twin) {
        std::printf(
            ", \"ms_in_order\": %s, \"twin_median_ms\": %.3f, \"twin_ms_in_order\": %s, \"twin_last_loss\": %.6f",
            in_order(ms).c_str(), Quartiles(twin_ms).p50, in_order(twin_ms).c_str(), twin.loss);
    }
    std::printf("}\n");
    std::fflush(stdout);
    return 0;
}

// Step by step, for `mae bench --alternate-native`: the driver's step on its own model, alternating with the
// Java-driven step in the same process, so both see the same machine from one step to the next.
MAE_DRIVER_EXPORT void* mae_train_step_driver_open(int argc, char** argv) {
    auto* d = new Driver();
    if (d->open(argc, argv)) return d;
    delete d;
    return nullptr;
}

MAE_DRIVER_EXPORT double mae_train_step_driver_step(void* driver) { return static_cast<Driver*>(driver)->step(); }

MAE_DRIVER_EXPORT void mae_train_step_driver_close(void* driver) { delete static_cast<Driver*>(driver); }

#ifndef MAE_DRIVER_LIBRARY
int main(int argc, char** argv) { return mae_train_step_driver_run(argc, argv); }
#endif
