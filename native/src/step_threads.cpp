#include "step_threads.h"

#include <dlfcn.h>

#include <algorithm>

#include "errors.h"

namespace mae {

StepThreads::StepThreads(int threads) {
    require(threads >= 1 && threads <= 1024, "step threads must be in [1, 1024], got " + std::to_string(threads));
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(i); });
}

StepThreads::~StepThreads() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    start_.notify_all();
    for (auto& w : workers_) w.join();
}

void StepThreads::run(int count, const std::function<void(int)>& task) {
    require(count >= 1 && count <= size(), "shard count out of range: " + std::to_string(count));
    {
        std::lock_guard<std::mutex> lock(mutex_);
        task_ = &task;
        count_ = count;
        running_ = count - 1;
        error_ = nullptr;
        ++generation_;
    }
    start_.notify_all();
    std::exception_ptr mine;
    try {
        task(0);
    } catch (...) {
        mine = std::current_exception();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return running_ == 0; });
    task_ = nullptr;
    if (mine) std::rethrow_exception(mine);
    if (error_) std::rethrow_exception(error_);
}

void StepThreads::run_items(const std::vector<int64_t>& costs, const std::function<void(size_t)>& item) {
    // Longest first, each to the thread with the least so far (LPT): within 4/3 of the best split.
    std::vector<size_t> order(costs.size());
    for (size_t j = 0; j < order.size(); ++j) order[j] = j;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return costs[a] > costs[b]; });
    const int k = std::max(1, std::min(size(), static_cast<int>(costs.size())));
    std::vector<std::vector<size_t>> mine(k);
    std::vector<int64_t> load(k, 0);
    for (size_t j : order) {
        const auto t = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
        mine[t].push_back(j);
        load[t] += costs[j];
    }
    run(k, [&](int t) {
        for (size_t j : mine[t]) item(j);
    });
}

void StepThreads::work(int index) {
    uint64_t seen = 0;
    for (;;) {
        const std::function<void(int)>* task;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            start_.wait(lock, [&] { return stopping_ || generation_ != seen; });
            if (stopping_) return;
            seen = generation_;
            if (index >= count_) continue;
            task = task_;
        }
        std::exception_ptr error;
        try {
            (*task)(index);
        } catch (...) {
            error = std::current_exception();
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (error && !error_) error_ = error;
            if (--running_ == 0) done_.notify_all();
        }
    }
}

std::vector<int64_t> shard_sizes(int64_t n, int shards) {
    const int64_t k = std::max<int64_t>(1, std::min<int64_t>(n, shards));
    std::vector<int64_t> sizes;
    for (int64_t i = 0; i < k; ++i) sizes.push_back(n / k + (i < n % k ? 1 : 0));
    return sizes;
}

namespace {

// OpenBLAS's thread-count setters, from whichever loaded library provides them; null where BLAS is not OpenBLAS
// (then LibTorch's intra-op setting governs it, e.g. MKL's).
struct OpenBlasThreads {
    void (*set)(int) = nullptr;
    int (*get)() = nullptr;
};

OpenBlasThreads find_openblas() {
    // libmae may be loaded RTLD_LOCAL (a JVM does), so look in the BLAS libraries by name too; a library not
    // loaded gives nullptr, which is RTLD_DEFAULT again.
    for (void* h : {RTLD_DEFAULT, dlopen("libblas.so.3", RTLD_LAZY | RTLD_NOLOAD),
                    dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_NOLOAD), dlopen("libopenblasp.so.0", RTLD_LAZY | RTLD_NOLOAD)}) {
        auto set = reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads"));
        auto get = reinterpret_cast<int (*)()>(dlsym(h, "openblas_get_num_threads"));
        if (set && get) return {set, get};
    }
    return {};
}

// OpenBLAS at one thread while alive. Process-wide: nested or concurrent guards restore the outermost value.
class SingleThreadedBlas {
public:
    SingleThreadedBlas() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (blas_.set != nullptr && depth_++ == 0) {
            saved_ = blas_.get();
            if (saved_ != 1) blas_.set(1);
        }
    }
    ~SingleThreadedBlas() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (blas_.set != nullptr && --depth_ == 0 && saved_ != 1) blas_.set(saved_);
    }

private:
    static inline const OpenBlasThreads blas_ = find_openblas();
    static inline std::mutex mutex_;
    static inline int depth_ = 0, saved_ = 0;
};

}  // namespace

std::vector<double> backward_in_shards(StepThreads& threads, int64_t n, const std::vector<torch::Tensor>& inputs,
                                       double loss_scale, const std::function<torch::Tensor(int, int64_t, int64_t)>& shard_loss) {
    const auto sizes = shard_sizes(n, threads.size());
    const int k = static_cast<int>(sizes.size());
    std::vector<int64_t> starts(k, 0);
    for (int i = 1; i < k; ++i) starts[i] = starts[i - 1] + sizes[i - 1];
    std::vector<std::vector<torch::Tensor>> grads(k);
    std::vector<double> losses(k);
    {
        SingleThreadedBlas blas;
        threads.run(k, [&](int i) {
            auto loss = shard_loss(i, starts[i], sizes[i]);
            losses[i] = loss.item<double>();
            grads[i] = torch::autograd::grad({loss_scale == 1.0 ? loss : loss * loss_scale}, inputs, {}, /*retain_graph=*/false, /*create_graph=*/false,
                                             /*allow_unused=*/true);
        });
    }
    std::vector<int64_t> sizes_of_inputs;
    for (const auto& t : inputs) sizes_of_inputs.push_back(t.numel());
    threads.run_items(sizes_of_inputs, [&](size_t j) {
        torch::NoGradGuard no_grad;
        torch::Tensor sum;
        bool fresh = false;  // sum is a buffer of our own, not one shard's gradient
        for (int i = 0; i < k; ++i) {
            const auto& g = grads[i][j];
            if (!g.defined()) continue;
            if (!sum.defined()) sum = g;
            else if (!fresh) {
                sum = sum + g;
                fresh = true;
            } else {
                sum.add_(g);
            }
        }
        if (!sum.defined()) return;
        sum = sum.contiguous();
        auto& slot = const_cast<torch::Tensor&>(inputs[j]).mutable_grad();
        if (slot.defined()) slot.add_(sum);
        else slot = sum;
    });
    return losses;
}

}  // namespace mae
