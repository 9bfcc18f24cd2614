// Data parallelism on c10d, the distributed engine LibTorch ships: a process group (Gloo on the CPU, NCCL on
// CUDA) that meets through a TCPStore, and DDP's gradient scheme — gradients all-reduced in buckets, each
// launched from autograd hooks as soon as the backward pass has produced all of its gradients.
#pragma once

#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "mae.h"
#include "vit.h"

namespace mae {

struct ProcessGroupOptions {
    int32_t backend;  // MAE_BACKEND_GLOO or MAE_BACKEND_NCCL
    std::string master_addr;
    int32_t master_port;
    int32_t rank;
    int32_t world_size;
    std::chrono::milliseconds timeout;
    std::string interface;  // Gloo's network interface; empty: loopback for a loopback master, else the hostname's
    torch::Device device;   // where collectives run: the CPU for Gloo, this process's GPU for NCCL
};

// Whether this build has the backend (its headers were found at build time).
bool backend_available(int32_t backend);

// The few collectives we use, over either backend (which derive from ProcessGroup in LibTorch 1.x and from
// Backend in 2.x, so they are held by their concrete type behind this interface).
class Collectives;

class ProcessGroup {
public:
    // Meets the other ranks (rank 0 serves the store) or throws PeerFailure after the timeout.
    explicit ProcessGroup(const ProcessGroupOptions& options);
    ~ProcessGroup();

    int32_t rank() const { return options_.rank; }
    int32_t world_size() const { return options_.world_size; }
    const torch::Device& device() const { return options_.device; }

    // In place on tensors of this group's device; every rank must call each collective in the same order.
    void all_reduce_sum(torch::Tensor& t);
    void broadcast(torch::Tensor& t, int32_t root);
    torch::Tensor all_gather(const torch::Tensor& t);  // [world_size, ...t.shape]
    void barrier();

    // Asynchronous all-reduce (sum), finished by wait(); what a failure reports names `what`.
    c10::intrusive_ptr<c10d::Work> all_reduce_async(torch::Tensor& t);
    void wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what);

private:
    ProcessGroupOptions options_;
    c10::intrusive_ptr<c10d::Store> store_;
    std::unique_ptr<Collectives> collectives_;
};

// Averages the gradients of `params` over the ranks of a group after each backward pass. Buckets hold
// parameters in reverse order (roughly the order backward produces them), at most `bucket_bytes` each.
class GradientSync {
public:
    GradientSync(std::shared_ptr<ProcessGroup> group, std::vector<Param>& params, int64_t bucket_bytes);
    // A collective: checks that `params` live on the group's device, then starts every rank from rank 0's values.
    static std::unique_ptr<GradientSync> join(std::shared_ptr<ProcessGroup> group, std::vector<Param>& params,
                                              int64_t bucket_bytes);
    ~GradientSync();  // removes its hooks: the parameters may outlive it
    GradientSync(const GradientSync&) = delete;
    GradientSync& operator=(const GradientSync&) = delete;

    // Copies rank 0's values of every parameter (trained or not) to the others.
    void broadcast_parameters();
    // The next backward pass all-reduces each bucket as soon as its gradients are complete (added to what the
    // parameters' .grad already holds from earlier micro-batches).
    void arm();
    // Ends the window: all-reduces what the hooks did not launch (all of it when not armed), waits, writes the
    // mean gradient into every trained parameter's .grad and returns the mean of `local_loss` over the ranks.
    double finish(double local_loss);

    ProcessGroup& group() { return *group_; }

private:
    struct Bucket {
        torch::Tensor flat;
        std::vector<size_t> members;   // indices into params_
        std::vector<int64_t> offsets;  // of each member in flat
        size_t ready = 0;
        c10::intrusive_ptr<c10d::Work> work;
    };
    struct Hooked {
        size_t param;
        unsigned handle;
    };
    void on_gradient(size_t param, const torch::Tensor& grad);
    void fill(size_t param, const torch::Tensor* extra);
    void launch_ready();

    std::shared_ptr<ProcessGroup> group_;
    std::vector<Param>& params_;
    std::vector<Bucket> buckets_;
    std::vector<size_t> bucket_of_, slot_of_;
    std::vector<bool> filled_;
    std::vector<Hooked> hooks_;
    size_t next_launch_ = 0;
    bool armed_ = false;
};

}  // namespace mae
