// Exceptions the core throws for bad input and wrong call order; the C ABI maps them to status codes
// (c_api_internal.h: guarded).
#pragma once

#include <stdexcept>
#include <string>

namespace mae {

// The caller passed a bad value: its message names the argument and what was expected.
struct InvalidArgument : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

// The call is valid but not now, e.g. gradients asked for before any backward pass.
struct InvalidState : std::logic_error {
    using std::logic_error::logic_error;
};

// This build or machine lacks what the call needs, e.g. a backend LibTorch was built without.
struct Unsupported : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A collective failed: a peer died, left, never arrived or timed out. The process group is unusable after it.
struct PeerFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Throws InvalidArgument with `message` unless `condition` holds.
inline void require(bool condition, const std::string& message) {
    if (!condition) throw InvalidArgument(message);
}

}  // namespace mae
