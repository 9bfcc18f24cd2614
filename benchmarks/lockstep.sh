#!/usr/bin/env bash
# Java (mae bench) against the Python reference step by step: RUNS runs of benchmarks/python/lockstep.py, both
# processes alive at once and stepping in turns, so the drift of this machine between separate runs drops out of
# their ratio; which side is named first alternates between runs. Raw lines to benchmarks/results/, then the
# per-step ratios pooled (benchmarks/python/pair_overhead.py).
#   benchmarks/lockstep.sh [CONFIG] [RUNS]   (default: vit-base16 3; run ./run-tests, then mvn -Pbenchmarks install -DskipTests)
#   env: STEPS (measured step pairs a run, default 16), WARMUP (default 2), THREADS and STEP_THREADS (Java's; default:
#        the API's defaults), PY_THREADS (Python's intra-op, default nproc, PyTorch's own default), COMPILE=1 (Python
#        under torch.compile; its compilation happens in the warm-up steps)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/setup.sh"
mae_find_jdk
config=${1:-vit-base16}
runs=${2:-3}
steps=${STEPS:-16}
warmup=${WARMUP:-2}
python="$MAE_VENV/bin/python"
"$python" -c 'import torch' 2>/dev/null || { echo "lockstep.sh: the Python reference needs the venv ./run-tests makes (.venv, torch 2.13)" >&2; exit 1; }
[ -f "$root/benchmarks/target/mae-benchmarks.jar" ] || { echo "lockstep.sh: build first (mvn -Pbenchmarks install -DskipTests)" >&2; exit 1; }
mae="$JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -jar $root/cli/target/mae-cli.jar"
check="$root/benchmarks/results/check/$config"
# the weights and outputs the Python reference checks itself against before it times anything
$mae bench --config "$config" --steps 1 --warmup 0 --step-threads 1 --export-check "$check" > /dev/null
java_threads="${THREADS:+--threads $THREADS} ${STEP_THREADS:+--step-threads $STEP_THREADS}"
paired="$JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -cp $root/benchmarks/target/mae-benchmarks.jar dev.mae4j.benchmarks.PairedSteps"
java_side="java=$paired --config $config $java_threads --steps $steps --warmup $warmup --turns {turns}"
# Python with the glibc settings libmae applies to itself (native/src/heap_tuning.cpp): its faster single process
python_name=python+malloc$([ "${COMPILE:-0}" = 1 ] && echo +compile)
python_side="$python_name=env MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 $python $root/benchmarks/python/bench_step.py --config $config --check $check --threads ${PY_THREADS:-$(nproc)} --steps $steps --warmup $((warmup + ${COMPILE:-0} * 2)) --driver-name python+malloc ${COMPILE:+$( [ "$COMPILE" = 1 ] && echo --compile)} --turns {turns}"
out="$root/benchmarks/results/lockstep-$config-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
mkdir -p "$(dirname "$out")"
for i in $(seq "$runs"); do
  if (( i % 2 )); then first=$java_side; second=$python_side; else first=$python_side; second=$java_side; fi
  "$python" "$root/benchmarks/python/lockstep.py" --side "$first" --side "$second" | tee -a "$out" | cut -c1-200
done
"$python" "$root/benchmarks/python/pair_overhead.py" "$out"
echo "wrote $out"
