#include "finite_loop.h"

#include "loop_clones.h"

#include <cstring>

namespace mae {

namespace {

// OR of "exponent all ones" over the elements, in blocks so a NaN early in a large array ends the scan soon.
template <typename Bits>
inline bool no_all_ones_exponent(const void* data, int64_t n, Bits exponent) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    constexpr int64_t block = 4096;
    for (int64_t first = 0; first < n; first += block) {
        const int64_t end = first + block < n ? first + block : n;
        Bits bad = 0;
        for (int64_t i = first; i < end; ++i) {
            Bits b;
            std::memcpy(&b, bytes + i * sizeof(Bits), sizeof(Bits));
            bad |= static_cast<Bits>((b & exponent) == exponent);
        }
        if (bad) return false;
    }
    return true;
}

}  // namespace

MAE_LOOP_CLONES bool all_finite_loop(const float* x, int64_t n) {
    return no_all_ones_exponent<uint32_t>(x, n, 0x7f800000u);
}

MAE_LOOP_CLONES bool all_finite_loop(const double* x, int64_t n) {
    return no_all_ones_exponent<uint64_t>(x, n, 0x7ff0000000000000ull);
}

}  // namespace mae
