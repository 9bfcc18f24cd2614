#!/usr/bin/env bash
# Configures libmae (and the benchmark drivers) with CMake against the PyTorch that $PYTHON (default python3) finds:
# the one configure path of both the GPU machine (dist/run.sh, beside it in the bundle) and the CUDA build check
# (scripts/cuda-build.sh, which builds the bundle and runs this). torch is located without being imported, so a
# CUDA wheel configures on a machine without a GPU or its runtime libraries.
#   configure.sh SOURCE_DIR BUILD_DIR [extra CMake arguments]
# For a CUDA wheel (torch/lib/libtorch_cuda.so present) it also passes:
#   the toolkit: $CUDA_HOME, else $CUDA_PATH, else the folder above the nvcc on PATH, else /usr/local/cuda;
#   nvrtc and the CUDA headers: the wheel's nvidia/*/ folders where they are, else the toolkit's;
#   nccl.h: the nvidia-nccl wheel's, for NCCL process groups;
#   the architectures: $TORCH_CUDA_ARCH_LIST, else the visible GPUs' (nvidia-smi), else 9.0 (Hopper).
set -euo pipefail
src=${1:?usage: configure.sh SOURCE_DIR BUILD_DIR [cmake args]}
build=${2:?usage: configure.sh SOURCE_DIR BUILD_DIR [cmake args]}
shift 2
python=${PYTHON:-python3}
log() { echo "[configure] $*" >&2; }

torch_dir=$("$python" -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("torch").origin))') \
    || { log "$python finds no torch"; exit 1; }
site=$(dirname "$torch_dir")
args=(-DCMAKE_BUILD_TYPE=Release -DMAE_BUNDLE=OFF -DMAE_BUILD_BENCHMARKS=ON -DCMAKE_PREFIX_PATH="$torch_dir/share/cmake")

# The first existing path of the arguments (globs expanded by the caller), or nothing.
first() { local p; for p in "$@"; do [ -e "$p" ] && { echo "$p"; return 0; }; done; return 0; }

if [ -e "$torch_dir/lib/libtorch_cuda.so" ]; then
  cuda_home=${CUDA_HOME:-${CUDA_PATH:-}}
  if [ -z "$cuda_home" ] && command -v nvcc >/dev/null; then cuda_home=$(dirname "$(dirname "$(command -v nvcc)")"); fi
  cuda_home=${cuda_home:-/usr/local/cuda}
  [ -x "$cuda_home/bin/nvcc" ] || { log "no nvcc in $cuda_home/bin: set CUDA_HOME to the CUDA toolkit"; exit 1; }
  nvrtc=$(first "$site"/nvidia/cu13/lib/libnvrtc.so* "$site"/nvidia/cuda_nvrtc/lib/libnvrtc.so* \
                "$cuda_home"/lib64/libnvrtc.so "$cuda_home"/targets/x86_64-linux/lib/libnvrtc.so)
  headers=$(first "$site/nvidia/cu13/include" "$site/nvidia/cuda_runtime/include")
  nccl=$(first "$site/nvidia/nccl/include")
  arch=${TORCH_CUDA_ARCH_LIST:-}
  if [ -z "$arch" ] && command -v nvidia-smi >/dev/null; then
    arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | sort -u | paste -sd';' || true)
  fi
  export TORCH_CUDA_ARCH_LIST=${arch:-9.0}
  log "CUDA: toolkit $cuda_home, nvrtc ${nvrtc:-from the toolkit}, headers ${headers:-from the toolkit}," \
      "nccl.h ${nccl:-none}, arch $TORCH_CUDA_ARCH_LIST"
  args+=(-DCUDA_TOOLKIT_ROOT_DIR="$cuda_home" -DCUDAToolkit_ROOT="$cuda_home" -DCMAKE_CUDA_COMPILER="$cuda_home/bin/nvcc")
  [ -n "$nvrtc" ] && args+=(-DCUDA_nvrtc_LIBRARY="$nvrtc")
  [ -n "$nccl" ] && args+=(-DNCCL_INCLUDE_DIR="$nccl")
  [ -n "$headers" ] && args+=(-DCMAKE_CXX_FLAGS="-isystem $headers")
  # The drivers are executables: ld would want every library libtorch_cuda needs (cuDNN, cuFFT, ...) to resolve,
  # which only matter at run time on a GPU machine: --allow-shlib-undefined checks our own symbols and leaves those.
  args+=(-DCMAKE_EXE_LINKER_FLAGS="-Wl,--allow-shlib-undefined")
  # FindCUDA (TorchConfig's) looks for nvcc on PATH while mae4j's CMake hides the system folders: put it first.
  export PATH="$cuda_home/bin:$PATH"
else
  log "CPU: $torch_dir"
fi
mkdir -p "$build"
cmake -S "$src" -B "$build" "${args[@]}" "$@"
