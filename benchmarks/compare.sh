#!/usr/bin/env bash
# The training-step comparison on the machine at hand: libmae driven from Java (mae bench), from C++
# (benchmarks/native, no JVM) and our Python reference on the same libtorch (benchmarks/python, checked equal
# to libmae's outputs first; run as it comes and with libmae's malloc settings), at three configurations:
# every side with 1 or 2 intra-op threads; Java and C++ also with the batch split over one step thread per core
# (--step-threads); Python also as DistributedDataParallel over one process per core (its way to use every core,
# with libmae's malloc settings). Writes the table into benchmarks/README.md between the comparison markers and
# the raw JSON lines to benchmarks/results/.
#   benchmarks/compare.sh [CONFIGS...]     (default: fashion tiny224 vitb16; run ./run-tests or mvn install first)
#   THREADS="1" benchmarks/compare.sh      (only these intra-op thread counts; default "1 2")
#   CORES=4 benchmarks/compare.sh          (step threads and DDP processes; default: nproc)
#   benchmarks/compare.sh --table FILE...   (rewrite the table from earlier result files only)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/setup.sh"
mae_find_jdk
if [ "${1:-}" = "--table" ]; then
  shift
  "$MAE_VENV/bin/python" "$root/benchmarks/python/comparison_table.py" "$root/benchmarks/README.md" "$@"
  exit 0
fi
configs=("${@:-fashion tiny224 vitb16}")
read -r -a configs <<< "${configs[*]}"
driver="$root/native/target/cmake/benchmarks/native/mae_train_step_driver"
python="$MAE_VENV/bin/python"
[ -x "$driver" ] || { echo "compare.sh: build first (./run-tests or mvn install): $driver is missing" >&2; exit 1; }
"$python" -c 'import torch' 2>/dev/null || { echo "compare.sh: the Python reference needs the venv ./run-tests makes (.venv, torch 2.13)" >&2; exit 1; }
mae() { "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$root/cli/target/mae-cli.jar" "$@"; }
cores=${CORES:-$(nproc)}
python_malloc=(env MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 "$python")
out="$root/benchmarks/results/compare-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
mkdir -p "$(dirname "$out")" "$root/benchmarks/results/check"
for c in "${configs[@]}"; do
  case $c in fashion) steps=10; warmup=3;; tiny224) steps=10; warmup=3;; vitb16) steps=6; warmup=1;; *) echo "unknown config $c" >&2; exit 2;; esac
  check="$root/benchmarks/results/check/$c"
  for t in ${THREADS:-1 2}; do
    # The same libtorch threads for all three; OpenBLAS keeps its own default on every side.
    mae bench --config "$c" --threads "$t" --step-threads 1 --steps "$steps" --warmup "$warmup" --export-check "$check" \
        | tee -a "$out"
    "$driver" --config "$c" --threads "$t" --steps "$steps" --warmup "$warmup" | tee -a "$out"
    "$python" "$root/benchmarks/python/bench_step.py" --config "$c" --check "$check" --threads "$t" \
        --steps "$steps" --warmup "$warmup" | tee -a "$out"
    # Python again with the glibc settings libmae applies to itself (native/src/heap_tuning.cpp)
    "${python_malloc[@]}" "$root/benchmarks/python/bench_step.py" --config "$c" --check "$check" --threads "$t" \
        --steps "$steps" --warmup "$warmup" --driver-name python+malloc | tee -a "$out"
  done
  if [ "$cores" -gt 1 ]; then
    # Every core for the whole step: libmae's step threads; Python's DistributedDataParallel over $cores processes
    mae bench --config "$c" --threads 1 --step-threads "$cores" --steps "$steps" --warmup "$warmup" | tee -a "$out"
    "$driver" --config "$c" --threads 1 --step-threads "$cores" --steps "$steps" --warmup "$warmup" | tee -a "$out"
    "${python_malloc[@]}" "$root/benchmarks/python/bench_step.py" --config "$c" --check "$check" --ddp "$cores" \
        --steps "$steps" --warmup "$warmup" --driver-name python-ddp | tee -a "$out"
  fi
done
"$python" "$root/benchmarks/python/comparison_table.py" "$root/benchmarks/README.md" "$out"
echo "wrote $out and the table in benchmarks/README.md"
