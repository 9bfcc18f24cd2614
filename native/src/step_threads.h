// Data parallelism inside one process: a batch split into shards whose forward and backward passes run at once,
// one thread each. On a CPU this uses every core for the whole step, where intra-op threads alone parallelise
// op by op (for narrow models such as ViT-Ti the shards win; see benchmarks/README.md).
#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mae {

// size() - 1 long-lived worker threads plus the caller's: run(task) calls task(0..size()-1) once each, all at once.
class StepThreads {
public:
    explicit StepThreads(int threads);
    ~StepThreads();
    StepThreads(const StepThreads&) = delete;
    StepThreads& operator=(const StepThreads&) = delete;

    int size() const { return static_cast<int>(workers_.size()) + 1; }
    // task(i) for i < count (<= size()), the caller running task(0), each thread with intra-op threads (OpenMP's
    // and MKL's, thread-locally) at its share of the caller's; rethrows the first exception after all ended.
    void run(int count, const std::function<void(int)>& task);
    // item(j) for every j < costs.size(), spread over the threads so that each gets about the same total cost.
    void run_items(const std::vector<int64_t>& costs, const std::function<void(size_t)>& item);

private:
    void work(int index);

    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable start_, done_;
    const std::function<void(int)>* task_ = nullptr;
    int count_ = 0;
    int per_thread_ = 1;  // intra-op threads of each thread during run()
    uint64_t generation_ = 0;
    int running_ = 0;
    bool stopping_ = false;
    std::exception_ptr error_;
};

// The sizes of `shards` near-equal slices of n rows (the larger ones first), at most n of them.
std::vector<int64_t> shard_sizes(int64_t n, int shards);

// Runs shard_loss(i, first_row, rows) and its backward pass on thread i for every shard, then adds the
// shards' gradients, summed in shard order (so the result does not depend on timing), to each input's .grad.
// shard_loss returns the shard's loss already weighted (rows / n for a batch mean); the backward pass is of
// loss·loss_scale. Each shard runs with its share of the intra-op threads (OpenMP and MKL, thread-locally): the
// shards are the parallelism. Returns each shard's weighted loss.
std::vector<double> backward_in_shards(StepThreads& threads, int64_t n, const std::vector<torch::Tensor>& inputs,
                                       double loss_scale,
                                       const std::function<torch::Tensor(int, int64_t, int64_t)>& shard_loss);

}  // namespace mae
