#!/usr/bin/env bash
# Builds libmae and the C++ drivers against PyTorch's CUDA 13 wheel into build-cuda/, with NCCL process groups, so
# that the C++ only a CUDA build compiles (device guards, streams, NCCL, the autocast on CUDA) is compiled and linked
# on every change, without a GPU. CI runs it after ./run-tests; it fails when anything does not compile or link, or
# when NCCL process groups are off. Needs the CUDA 13 toolkit's nvcc (MAE_CUDA_HOME, default /usr/local/cuda).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cuda_home=${MAE_CUDA_HOME:-/usr/local/cuda}
[ -x "$cuda_home/bin/nvcc" ] || { mae_log "no nvcc in $cuda_home/bin: install the CUDA 13 toolkit or set MAE_CUDA_HOME"; exit 1; }
mae_ensure_packages
mae_ensure_cuda_venv
site=$("$MAE_CUDA_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
build="$MAE_ROOT/build-cuda"
mkdir -p "$build"
# TORCH_CUDA_ARCH_LIST skips the GPU detection (there is none); Hopper, as the GPU machines.
# The wheels keep nvrtc, cuBLAS & co. under nvidia/cu13 and nccl.h under nvidia/nccl, where CMake does not look.
# The drivers are executables: ld would want every library libtorch_cuda needs (cuDNN, cuFFT, ...) to resolve them,
# which only matter at run time on a GPU machine: --allow-shlib-undefined checks our own symbols and leaves those.
TORCH_CUDA_ARCH_LIST=9.0 cmake -S "$MAE_ROOT" -B "$build" -DMAE_BUNDLE=OFF \
    -DCMAKE_PREFIX_PATH="$site/torch/share/cmake" \
    -DCUDA_TOOLKIT_ROOT_DIR="$cuda_home" -DCUDAToolkit_ROOT="$cuda_home" -DCMAKE_CUDA_COMPILER="$cuda_home/bin/nvcc" \
    -DCUDA_nvrtc_LIBRARY="$site/nvidia/cu13/lib/libnvrtc.so.13" -DNCCL_INCLUDE_DIR="$site/nvidia/nccl/include" \
    -DCMAKE_CXX_FLAGS="-isystem $site/nvidia/cu13/include" \
    -DCMAKE_EXE_LINKER_FLAGS="-Wl,--allow-shlib-undefined" | tee "$build/configure.log"
grep -q "libmae: NCCL process groups" "$build/configure.log" \
    || { mae_log "the CUDA build has no NCCL process groups (see $build/configure.log)"; exit 1; }
cmake --build "$build" -j "$(nproc)"
mae_log "CUDA build: $build/native/libmae.so against torch 2.14.1 (CUDA 13), with NCCL"
