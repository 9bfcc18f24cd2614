#!/usr/bin/env bash
# The thread-policy lever of the CPU training step, measured with the C++ driver (libmae, no JVM): libtorch's
# intra-op threads (OpenMP) against OpenBLAS's own pthreads (Debian's libopenblas0-pthread sizes its pool from
# OPENBLAS_NUM_THREADS, else the core count, whatever libtorch is told), and OpenMP's wait policy. Appends JSON
# lines to benchmarks/results/thread-policy-*.jsonl; run on an otherwise idle machine.
#   benchmarks/thread_policy.sh [CONFIGS...]     (default: fashion tiny224)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
driver="$root/native/target/cmake/benchmarks/native/mae_train_step_driver"
[ -x "$driver" ] || { echo "thread_policy.sh: build first (./run-tests or mvn install)" >&2; exit 1; }
configs=("${@:-fashion tiny224}")
read -r -a configs <<< "${configs[*]}"
out="$root/benchmarks/results/thread-policy-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
mkdir -p "$(dirname "$out")"
cores=$(nproc)
for c in "${configs[@]}"; do
  for intra in 1 "$cores"; do
    for blas in 1 "$cores"; do
      for wait in ACTIVE PASSIVE; do
        OPENBLAS_NUM_THREADS=$blas OMP_WAIT_POLICY=$wait "$driver" --config "$c" --threads "$intra" --steps 10 --warmup 3 \
            | tee -a "$out"
      done
    done
  done
done
echo "wrote $out"
