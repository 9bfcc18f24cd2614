// A choice between two kernels made by timing both, once per key (shape, dtype, thread count, ...), at the key's
// first use on this machine; every later use of the key is a lookup under a shared lock. One measurement runs at a
// time, so no timing disturbs another.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <shared_mutex>

namespace mae {

// The fastest of two timed runs of `run`, after one untimed run (first-touch allocations, kernel caches).
inline double best_seconds(const std::function<void()>& run) {
    run();
    double best = 1e30;
    for (int i = 0; i < 2; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

template <typename Key>
class TimedChoice {
public:
    // Whether `second` is the faster for `key`: measured now if the key is new.
    bool second_faster(const Key& key, const std::function<void()>& first, const std::function<void()>& second) {
        {
            std::shared_lock<std::shared_mutex> read(mutex_);
            auto it = chosen_.find(key);
            if (it != chosen_.end()) return it->second;
        }
        std::unique_lock<std::shared_mutex> lock(mutex_);
        auto it = chosen_.find(key);
        if (it != chosen_.end()) return it->second;
        const double a = best_seconds(first);
        const double b = best_seconds(second);
        return chosen_[key] = b < a;
    }

private:
    std::shared_mutex mutex_;
    std::map<Key, bool> chosen_;
};

}  // namespace mae
