#!/usr/bin/env bash
# The CUDA build check: builds the GPU bundle (dist/make-bundle.sh), unpacks it into build-cuda/ and runs its own
# build step (run.sh build: dist/configure.sh, the one CUDA configure path) with PyTorch's CUDA 13 wheel standing in
# for the GPU machine's PyTorch, so that the C++ only a CUDA build compiles (device guards, streams, NCCL, the
# autocast on CUDA) is compiled and linked on every change, and the GPU machine's build step with it, without a GPU.
# CI runs it after ./run-tests (which builds what the bundle packs); it fails when anything does not configure,
# compile or link, or when NCCL process groups are off. Needs the CUDA 13 toolkit's nvcc (MAE_CUDA_HOME, default
# /usr/local/cuda).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cuda_home=${MAE_CUDA_HOME:-/usr/local/cuda}
[ -x "$cuda_home/bin/nvcc" ] || { mae_log "no nvcc in $cuda_home/bin: install the CUDA 13 toolkit or set MAE_CUDA_HOME"; exit 1; }
mae_ensure_packages
mae_ensure_cuda_venv
"$MAE_ROOT/dist/make-bundle.sh"
build="$MAE_ROOT/build-cuda"
rm -rf "$build" && mkdir -p "$build"
tar -C "$build" -xzf "$MAE_ROOT/target/mae4j-bundle.tar.gz"
# No GPU here: Hopper, as the GPU machines (there configure.sh asks nvidia-smi).
PYTHON="$MAE_CUDA_VENV/bin/python" CUDA_HOME="$cuda_home" TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0} \
    "$build/mae4j/run.sh" build
grep -q "libmae: NCCL process groups" "$build/mae4j/out/cmake.log" \
    || { mae_log "the CUDA build has no NCCL process groups (see $build/mae4j/out/cmake.log)"; exit 1; }
mae_log "CUDA build: $build/mae4j/build/native/libmae.so against torch 2.14.1 (CUDA 13), with NCCL, by the bundle's run.sh"
