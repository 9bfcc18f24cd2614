// A choice between two kernels made by timing both, once per key (shape, dtype, thread count, ...), at the key's
// first use on this machine; every later use of the key is a lookup under a shared lock. One measurement runs at a
// time, so no timing disturbs another.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string_view>

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

// The position in `names` of environment variable `var`'s value, the kernel a test or benchmark forces; -1 where it
// is unset or names no kernel (then the choice is measured).
inline int kernel_forced_by_environment(const char* var, std::initializer_list<std::string_view> names) {
    const char* v = std::getenv(var);
    if (v == nullptr) return -1;
    int i = 0;
    for (auto name : names) {
        if (name == v) return i;
        ++i;
    }
    return -1;
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
