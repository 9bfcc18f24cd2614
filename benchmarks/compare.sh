#!/usr/bin/env bash
# The training-step comparison on the machine at hand, against the peer a user would pick today: PyTorch 2.13 from
# the project's venv (the same wheel libmae is built on), eager and torch.compile, each at its best intra-op thread
# count (1..cores), as it comes and with libmae's malloc settings. libmae is driven from Java with the API's
# defaults (`mae bench` with no thread options: every core, step threads for narrow models) and from C++
# (benchmarks/native, no JVM) at the same setting. Our Python reference (benchmarks/python/mae_reference.py, the
# official models_mae.py's computation) checks libmae's loss and prediction on the same weights and noise before
# any time counts. Writes the table into benchmarks/README.md between the comparison markers and the raw JSON lines
# to benchmarks/results/.
#   benchmarks/compare.sh [CONFIGS...]     (default: fashion-mnist vit-tiny16 vit-base16; run ./run-tests, then mvn -Pbenchmarks install -DskipTests)
#   COMPILE=0 benchmarks/compare.sh        (skip torch.compile, which compiles for minutes on 2 cores)
#   DDP=1 benchmarks/compare.sh            (also Python DistributedDataParallel over one process per core)
#   benchmarks/compare.sh --table FILE...  (rewrite the table from earlier result files only)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/setup.sh"
mae_find_jdk
python="$MAE_VENV/bin/python"
"$python" -c 'import torch' 2>/dev/null || { echo "compare.sh: the Python side needs the venv ./run-tests makes (.venv)" >&2; exit 1; }
if [ "${1:-}" = "--table" ]; then
  shift
  "$python" "$root/benchmarks/python/comparison_table.py" "$root/benchmarks/README.md" "$@"
  exit 0
fi
configs=("${@:-fashion-mnist vit-tiny16 vit-base16}")
read -r -a configs <<< "${configs[*]}"
driver="$root/native/target/cmake/benchmarks/native/mae_train_step_driver"
[ -x "$driver" ] || { echo "compare.sh: build first (mvn -Pbenchmarks install -DskipTests): $driver is missing" >&2; exit 1; }
mae() { "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$root/cli/target/mae-cli.jar" "$@"; }
cores=$(nproc)
python_malloc=(env MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 "$python")
out="$root/benchmarks/results/compare-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
mkdir -p "$(dirname "$out")" "$root/benchmarks/results/check"
field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<< "$2"; }
for c in "${configs[@]}"; do
  case $c in vit-base16|vit-large16|vit-huge14) steps=5; warmup=1;; *) steps=10; warmup=3;; esac  # the wide ones: fewer
  check="$root/benchmarks/results/check/$c"
  mae bench --config "$c" --steps 1 --warmup 0 --step-threads 1 --export-check "$check" > /dev/null
  line=$(mae bench --config "$c" --steps "$steps" --warmup "$warmup")   # the API's defaults
  echo "$line" | tee -a "$out"
  "$driver" --config "$c" --threads "$(field threads "$line")" --step-threads "$(field step_threads "$line")" \
      --steps "$steps" --warmup "$warmup" | tee -a "$out"
  for t in $(seq 1 "$cores"); do
    bench=("$root/benchmarks/python/bench_step.py" --config "$c" --check "$check" --threads "$t" --steps "$steps")
    "$python" "${bench[@]}" --warmup "$warmup" 2>/dev/null | tee -a "$out"
    "${python_malloc[@]}" "${bench[@]}" --warmup "$warmup" --driver-name python+malloc 2>/dev/null | tee -a "$out"
    # torch.compile: the first steps compile (minutes on 2 cores), so two more warm-up steps
    [ "${COMPILE:-1}" = 0 ] || "$python" "${bench[@]}" --warmup $((warmup + 2)) --compile 2>/dev/null | tee -a "$out"
  done
  if [ "${DDP:-0}" = 1 ] && [ "$cores" -gt 1 ]; then
    "${python_malloc[@]}" "$root/benchmarks/python/bench_step.py" --config "$c" --check "$check" --ddp "$cores" \
        --steps "$steps" --warmup "$warmup" --driver-name python-ddp 2>/dev/null | tee -a "$out"
  fi
done
"$python" "$root/benchmarks/python/comparison_table.py" "$root/benchmarks/README.md" "$out"
echo "wrote $out and the table in benchmarks/README.md"
