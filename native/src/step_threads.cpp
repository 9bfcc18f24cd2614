#include "step_threads.h"

#include <dlfcn.h>

#include <algorithm>

#include "errors.h"

namespace mae {

namespace {

// The thread-local intra-op settings of OpenMP (LibTorch's loops, oneDNN) and MKL (the matmuls), looked up at run
// time so that a LibTorch without MKL still works; null where absent.
struct ThreadSetters {
    void (*omp_set)(int) = nullptr;
    int (*omp_get)() = nullptr;
    int (*mkl_set_local)(int) = nullptr;
};

ThreadSetters find_setters() {
    // libmae is loaded RTLD_LOCAL by a JVM: look in the libraries it loaded, by name.
    ThreadSetters s;
    for (void* h : {RTLD_DEFAULT, dlopen("libgomp.so.1", RTLD_LAZY | RTLD_NOLOAD),
                    dlopen("libtorch_cpu.so", RTLD_LAZY | RTLD_NOLOAD)}) {
        if (!s.omp_set) s.omp_set = reinterpret_cast<void (*)(int)>(dlsym(h, "omp_set_num_threads"));
        if (!s.omp_get) s.omp_get = reinterpret_cast<int (*)()>(dlsym(h, "omp_get_max_threads"));
        // mkl.h maps mkl_set_num_threads_local to this by-value entry; the lowercase symbol is Fortran's (int*).
        if (!s.mkl_set_local) s.mkl_set_local = reinterpret_cast<int (*)(int)>(dlsym(h, "MKL_Set_Num_Threads_Local"));
    }
    return s;
}

// The calling thread's intra-op threads set to n while alive, the other threads untouched: each shard gets its
// share of the process's intra-op threads (LibTorch's own setter is process-wide for MKL).
class ShardIntraOpThreads {
public:
    explicit ShardIntraOpThreads(int n) {
        // LibTorch sets each thread's OpenMP count to the process's at the thread's first parallel op, which would
        // undo ours mid-shard (and only on a fresh thread: a resumed run then rounded differently). Its own
        // get_num_threads() runs that set-up now; the inline at::internal helper would flag only libmae's copy.
        (void)at::get_num_threads();
        if (setters_.omp_set && setters_.omp_get) {
            saved_omp_ = setters_.omp_get();
            setters_.omp_set(n);
        }
        if (setters_.mkl_set_local) saved_mkl_ = setters_.mkl_set_local(n);
    }
    ~ShardIntraOpThreads() {
        if (saved_omp_ > 0) setters_.omp_set(saved_omp_);
        if (setters_.mkl_set_local) setters_.mkl_set_local(saved_mkl_);  // 0: back to the global setting
    }
    ShardIntraOpThreads(const ShardIntraOpThreads&) = delete;
    ShardIntraOpThreads& operator=(const ShardIntraOpThreads&) = delete;

private:
    static inline const ThreadSetters setters_ = find_setters();
    int saved_omp_ = 0, saved_mkl_ = 0;
};

}  // namespace

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
        // Every thread of the step takes its share of the caller's intra-op threads (1 by default): with the
        // process's whole count on each, the shards would oversubscribe the cores and round by their timing.
        per_thread_ = std::max(1, at::get_num_threads() / count);
        running_ = count - 1;
        error_ = nullptr;
        ++generation_;
    }
    start_.notify_all();
    std::exception_ptr mine;
    try {
        ShardIntraOpThreads intra_op(per_thread_);
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
        int per_thread;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            start_.wait(lock, [&] { return stopping_ || generation_ != seen; });
            if (stopping_) return;
            seen = generation_;
            if (index >= count_) continue;
            task = task_;
            per_thread = per_thread_;
        }
        std::exception_ptr error;
        try {
            ShardIntraOpThreads intra_op(per_thread);
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

std::vector<double> backward_in_shards(StepThreads& threads, int64_t n, const std::vector<torch::Tensor>& inputs,
                                       double loss_scale,
                                       const std::function<torch::Tensor(int, int64_t, int64_t)>& shard_loss) {
    const auto sizes = shard_sizes(n, threads.size());
    const int k = static_cast<int>(sizes.size());
    std::vector<int64_t> starts(k, 0);
    for (int i = 1; i < k; ++i) starts[i] = starts[i - 1] + sizes[i - 1];
    std::vector<std::vector<torch::Tensor>> grads(k);
    std::vector<double> losses(k);
    {
        threads.run(k, [&](int i) {  // each shard with its share of the intra-op threads (StepThreads::run)
            auto loss = shard_loss(i, starts[i], sizes[i]);
            losses[i] = loss.item<double>();
            grads[i] = torch::autograd::grad({loss_scale == 1.0 ? loss : loss * loss_scale}, inputs, {},
                                             /*retain_graph=*/false, /*create_graph=*/false,
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
            if (!sum.defined())
                sum = g;
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
        if (slot.defined())
            slot.add_(sum);
        else
            slot = sum;
    });
    return losses;
}

}  // namespace mae
