#include "distributed.h"

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <algorithm>
#include <cmath>

#include "errors.h"

#ifdef MAE_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef MAE_WITH_NCCL
#include <c10/cuda/CUDAGuard.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace mae {

class Collectives {
public:
    virtual ~Collectives() = default;
    virtual c10::intrusive_ptr<c10d::Work> allreduce(std::vector<torch::Tensor>& tensors) = 0;
    virtual c10::intrusive_ptr<c10d::Work> broadcast(std::vector<torch::Tensor>& tensors, int root) = 0;
    virtual c10::intrusive_ptr<c10d::Work> allgather(std::vector<std::vector<torch::Tensor>>& out,
                                                     std::vector<torch::Tensor>& in) = 0;
    virtual c10::intrusive_ptr<c10d::Work> barrier() = 0;
};

namespace {

template <class Group>
class CollectivesOf final : public Collectives {
public:
    explicit CollectivesOf(c10::intrusive_ptr<Group> group) : group_(std::move(group)) {}
    c10::intrusive_ptr<c10d::Work> allreduce(std::vector<torch::Tensor>& tensors) override {
        return group_->allreduce(tensors, c10d::AllreduceOptions());
    }
    c10::intrusive_ptr<c10d::Work> broadcast(std::vector<torch::Tensor>& tensors, int root) override {
        c10d::BroadcastOptions options;
        options.rootRank = root;
        return group_->broadcast(tensors, options);
    }
    c10::intrusive_ptr<c10d::Work> allgather(std::vector<std::vector<torch::Tensor>>& out,
                                             std::vector<torch::Tensor>& in) override {
        return group_->allgather(out, in, c10d::AllgatherOptions());
    }
    c10::intrusive_ptr<c10d::Work> barrier() override { return group_->barrier(c10d::BarrierOptions()); }

private:
    c10::intrusive_ptr<Group> group_;
};

std::string message_of(const std::exception& e) {
    if (auto c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
    return e.what();
}

bool is_loopback(const std::string& addr) { return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1"; }

std::string describe(const ProcessGroupOptions& o) {
    return "rank " + std::to_string(o.rank) + " of " + std::to_string(o.world_size);
}

void validate(const ProcessGroupOptions& o) {
    require(o.world_size >= 1, "world_size must be >= 1, got " + std::to_string(o.world_size));
    require(o.rank >= 0 && o.rank < o.world_size,
            "rank must be in [0, " + std::to_string(o.world_size) + "), got " + std::to_string(o.rank));
    require(o.master_port > 0 && o.master_port < 65536,
            "master_port must be in [1, 65535], got " + std::to_string(o.master_port));
    require(!o.master_addr.empty(), "master_addr must not be empty");
    require(o.timeout.count() > 0, "timeout must be positive, got " + std::to_string(o.timeout.count()) + " ms");
    require(o.backend == MAE_BACKEND_GLOO || o.backend == MAE_BACKEND_NCCL,
            "backend must be MAE_BACKEND_GLOO or MAE_BACKEND_NCCL, got " + std::to_string(o.backend));
    if (o.backend == MAE_BACKEND_GLOO) require(o.device.is_cpu(), "the Gloo backend runs on the CPU");
    if (o.backend == MAE_BACKEND_NCCL) require(o.device.is_cuda(), "the NCCL backend needs a CUDA device");
}

std::unique_ptr<Collectives> make_collectives(const ProcessGroupOptions& o,
                                              const c10::intrusive_ptr<c10d::Store>& store) {
    if (o.backend == MAE_BACKEND_GLOO) {
#ifdef MAE_WITH_GLOO
        auto options = c10d::ProcessGroupGloo::Options::create(o.timeout);
        if (!o.interface.empty())
            options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(o.interface));
        else if (is_loopback(o.master_addr))
            options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
        else
            options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
        auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, o.rank, o.world_size, options);
        return std::make_unique<CollectivesOf<c10d::ProcessGroupGloo>>(group);
#else
        throw Unsupported("this libmae was built without Gloo (its headers were not found at build time)");
#endif
    }
#ifdef MAE_WITH_NCCL
    c10::cuda::CUDAGuard guard(o.device);
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = o.timeout;
    auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, o.rank, o.world_size, options);
    return std::make_unique<CollectivesOf<c10d::ProcessGroupNCCL>>(group);
#else
    throw Unsupported("this libmae was built without NCCL (a CUDA LibTorch with NCCL headers is needed)");
#endif
}

}  // namespace

bool backend_available(int32_t backend) {
#ifdef MAE_WITH_GLOO
    if (backend == MAE_BACKEND_GLOO) return true;
#endif
#ifdef MAE_WITH_NCCL
    if (backend == MAE_BACKEND_NCCL) return true;
#endif
    return false;
}

ProcessGroup::ProcessGroup(const ProcessGroupOptions& options) : options_(options) {
    validate(options_);
    const std::string where = options_.master_addr + ":" + std::to_string(options_.master_port);
    try {
        c10d::TCPStoreOptions store;
        store.port = static_cast<std::uint16_t>(options_.master_port);
        store.isServer = options_.rank == 0;
        store.numWorkers = static_cast<std::size_t>(options_.world_size);
        store.waitWorkers = true;
        store.timeout = options_.timeout;
        store_ = c10::make_intrusive<c10d::TCPStore>(options_.master_addr, store);
        collectives_ = make_collectives(options_, store_);
    } catch (const Unsupported&) {
        throw;
    } catch (const std::exception& e) {
        throw PeerFailure(describe(options_) + " could not meet the others at " + where + " within " +
                          std::to_string(options_.timeout.count() / 1000.0) + " s: " + message_of(e));
    }
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what) {
    try {
        work->wait();
    } catch (const std::exception& e) {
        throw PeerFailure(describe(options_) + ": " + what + " failed (a peer died, left or took longer than " +
                          std::to_string(options_.timeout.count() / 1000.0) + " s): " + message_of(e));
    }
}

c10::intrusive_ptr<c10d::Work> ProcessGroup::all_reduce_async(torch::Tensor& t) {
    std::vector<torch::Tensor> tensors{t};
    return collectives_->allreduce(tensors);
}

void ProcessGroup::all_reduce_sum(torch::Tensor& t) { wait(all_reduce_async(t), "all-reduce"); }

void ProcessGroup::broadcast(torch::Tensor& t, int32_t root) {
    require(root >= 0 && root < world_size(), "root must be a rank, got " + std::to_string(root));
    std::vector<torch::Tensor> tensors{t};
    wait(collectives_->broadcast(tensors, root), "broadcast");
}

torch::Tensor ProcessGroup::all_gather(const torch::Tensor& t) {
    std::vector<torch::Tensor> in{t.contiguous()};
    std::vector<std::vector<torch::Tensor>> out(1);
    for (int32_t r = 0; r < world_size(); ++r) out[0].push_back(torch::empty_like(in[0]));
    wait(collectives_->allgather(out, in), "all-gather");
    return torch::stack(out[0]);
}

void ProcessGroup::barrier() { wait(collectives_->barrier(), "barrier"); }

// --- gradients ---------------------------------------------------------------------------------------------

namespace {
constexpr int64_t kFirstBucketBytes = 1 << 20;  // DDP's: a small first bucket starts communication early
}

GradientSync::GradientSync(std::shared_ptr<ProcessGroup> group, std::vector<Param>& params, int64_t bucket_bytes)
    : group_(std::move(group)),
      params_(params),
      bucket_of_(params.size()),
      slot_of_(params.size()),
      filled_(params.size(), false) {
    require(bucket_bytes > 0, "bucket_bytes must be positive, got " + std::to_string(bucket_bytes));
    int64_t bytes = 0, numel = 0;
    std::vector<std::pair<size_t, int64_t>> members;  // (param, offset) of the bucket being filled
    auto close = [&] {
        if (members.empty()) return;
        Bucket b;
        b.flat = torch::zeros({numel}, params_[members[0].first].value.options());
        for (auto& [param, offset] : members) {
            bucket_of_[param] = buckets_.size();
            slot_of_[param] = b.members.size();
            b.members.push_back(param);
            b.offsets.push_back(offset);
        }
        buckets_.push_back(std::move(b));
        members.clear();
        bytes = numel = 0;
    };
    for (size_t i = params_.size(); i-- > 0;) {  // backward produces the last layers' gradients first
        const auto& p = params_[i];
        if (!p.trainable) continue;
        members.emplace_back(i, numel);
        numel += p.value.numel();
        bytes += p.value.numel() * static_cast<int64_t>(p.value.element_size());
        if (bytes >= (buckets_.empty() ? std::min(kFirstBucketBytes, bucket_bytes) : bucket_bytes)) close();
    }
    close();
    for (size_t i = 0; i < params_.size(); ++i) {
        if (!params_[i].trainable) continue;
        const unsigned handle =
            params_[i].value.register_hook([this, i](const torch::Tensor& grad) { on_gradient(i, grad); });
        hooks_.push_back({i, handle});
    }
}

std::unique_ptr<GradientSync> GradientSync::join(std::shared_ptr<ProcessGroup> group, std::vector<Param>& params,
                                                 int64_t bucket_bytes) {
    require(!params.empty(), "nothing to train");
    const auto& device = params.front().value.device();
    require(group->device() == device,
            "the process group runs on " + group->device().str() + " but the parameters are on " + device.str());
    auto sync = std::make_unique<GradientSync>(std::move(group), params, bucket_bytes);
    sync->broadcast_parameters();
    return sync;
}

GradientSync::~GradientSync() {
    for (const auto& h : hooks_) params_[h.param].value.remove_hook(h.handle);
}

void GradientSync::broadcast_parameters() {
    torch::NoGradGuard no_grad;
    // Every rank must hold the same architecture, or the flat copies below would not line up: compare a digest of
    // the parameters' names, shapes and dtype with rank 0's first.
    uint64_t digest = 14695981039346656037ULL;  // FNV-1a over the layout (unsigned: its products wrap by design)
    auto mix = [&digest](int64_t v) { digest = (digest ^ static_cast<uint64_t>(v)) * 1099511628211ULL; };
    for (const auto& p : params_) {
        for (char c : p.name) mix(c);
        for (auto d : p.value.sizes()) mix(d);
        mix(static_cast<int64_t>(p.value.scalar_type()));
    }
    auto mine = torch::tensor({static_cast<int64_t>(digest), static_cast<int64_t>(params_.size())},
                              torch::TensorOptions().dtype(torch::kInt64).device(group_->device()));
    auto digests = group_->all_gather(mine).to(torch::kCPU);
    for (int32_t r = 1; r < group_->world_size(); ++r)
        if (!digests[r].equal(digests[0]))
            throw InvalidArgument("rank " + std::to_string(r) + "'s model differs from rank 0's (" +
                                  std::to_string(digests[r][1].item<int64_t>()) + " parameters vs " +
                                  std::to_string(digests[0][1].item<int64_t>()) +
                                  ", or other shapes): every rank must "
                                  "build the same configuration");
    std::vector<torch::Tensor> flat;
    for (const auto& p : params_) flat.push_back(p.value.reshape(-1));
    auto all = torch::cat(flat);
    group_->broadcast(all, 0);
    int64_t offset = 0;
    for (auto& p : params_) {
        const int64_t n = p.value.numel();
        p.value.copy_(all.narrow(0, offset, n).view_as(p.value));
        offset += n;
    }
}

void GradientSync::arm() { armed_ = true; }

// The bucket slot of `param` := its .grad so far (zero when none) plus `extra` (a gradient on its way to .grad).
void GradientSync::fill(size_t param, const torch::Tensor* extra) {
    auto& b = buckets_[bucket_of_[param]];
    const auto& value = params_[param].value;
    auto slot = b.flat.narrow(0, b.offsets[slot_of_[param]], value.numel()).view(value.sizes());
    const auto& grad = value.grad();
    if (extra) {
        slot.copy_(*extra);
        if (grad.defined()) slot.add_(grad);
    } else if (grad.defined()) {
        slot.copy_(grad);
    } else {
        slot.zero_();
    }
    filled_[param] = true;
    ++b.ready;
}

void GradientSync::on_gradient(size_t param, const torch::Tensor& grad) {
    if (!armed_ || filled_[param]) return;
    torch::NoGradGuard no_grad;
    fill(param, &grad);
    launch_ready();
}

// Launches, in bucket order (every rank must issue collectives in the same order), the buckets that are complete.
void GradientSync::launch_ready() {
    while (next_launch_ < buckets_.size() && buckets_[next_launch_].ready == buckets_[next_launch_].members.size()) {
        buckets_[next_launch_].work = group_->all_reduce_async(buckets_[next_launch_].flat);
        ++next_launch_;
    }
}

double GradientSync::finish(double local_loss) {
    torch::NoGradGuard no_grad;
    for (auto& b : buckets_)
        for (size_t param : b.members)
            if (!filled_[param]) fill(param, nullptr);
    launch_ready();
    auto loss = torch::full({1}, local_loss, torch::TensorOptions().dtype(torch::kFloat64).device(group_->device()));
    auto loss_work = group_->all_reduce_async(loss);
    const double n = group_->world_size();
    for (auto& b : buckets_) {
        group_->wait(b.work, "all-reduce of gradients");
        b.work.reset();
        b.flat.div_(n);
        for (size_t k = 0; k < b.members.size(); ++k) {
            auto& value = params_[b.members[k]].value;
            auto mean = b.flat.narrow(0, b.offsets[k], value.numel()).view(value.sizes());
            if (value.grad().defined())
                value.mutable_grad().copy_(mean);
            else
                value.mutable_grad() = mean.clone();
            filled_[b.members[k]] = false;
        }
        b.ready = 0;
    }
    group_->wait(loss_work, "all-reduce of the loss");
    next_launch_ = 0;
    armed_ = false;
    return loss.item<double>() / n;
}

}  // namespace mae
