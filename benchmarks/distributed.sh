#!/usr/bin/env bash
# Data-parallel training steps on loopback Gloo (mae bench --nproc-per-node): one process against two, at the
# Fashion-MNIST config, each rank one intra-op thread, the global batch kept (256 = 2 × 128) and doubled
# (2 × 256). Appends JSON lines to benchmarks/results/distributed-*.jsonl; run on an otherwise idle machine.
#   benchmarks/distributed.sh [RANKS...]     (default: 2)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/setup.sh"
mae_find_jdk
mae() { "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$root/cli/target/mae-cli.jar" "$@"; }
out="$root/benchmarks/results/distributed-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
mkdir -p "$(dirname "$out")"
port=29650
for t in 1 2; do
  mae bench --config fashion-mnist --threads "$t" --batch 256 --steps 10 --warmup 3 | tee -a "$out"
done
for n in "${@:-2}"; do
  for b in $((256 / n)) 256; do
    port=$((port + 1))
    mae bench --config fashion-mnist --threads 1 --batch "$b" --steps 10 --warmup 3 --nproc-per-node "$n" --master-port "$port" \
        | grep '^{' | tee -a "$out"
  done
done
echo "wrote $out"
