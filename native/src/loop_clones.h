// Plain loops compiled with their own flags (finite_loop.cpp; benchmarks/native/adamw_one_pass.cpp): an AVX2
// and a baseline build of each, picked at load time.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__)
#define MAE_LOOP_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MAE_LOOP_CLONES
#endif
