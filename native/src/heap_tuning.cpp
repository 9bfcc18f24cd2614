// glibc returns large freed blocks to the kernel at once (mmap'd ones, and the heap's top beyond the trim
// threshold), so every training step faults its activations in again, page by page, zeroed by the kernel:
// the Fashion-MNIST step ran 13% faster without that (benchmarks/README.md). When libmae loads it keeps blocks up to
// glibc's largest mmap threshold (32 MiB) in the heap and stops trimming below 1 GiB, so the next step reuses
// them. MAE_MALLOC_TUNING=0 turns this off; MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ set by the user win.
#include <cstdlib>
#include <cstring>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace {

struct HeapTuning {
    HeapTuning() {
#ifdef __GLIBC__
        const char* setting = std::getenv("MAE_MALLOC_TUNING");
        if (setting != nullptr && std::strcmp(setting, "0") == 0) return;
        if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 32 << 20);
        if (std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
    }
};

const HeapTuning tuning;

}  // namespace
