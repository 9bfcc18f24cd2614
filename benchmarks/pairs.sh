#!/usr/bin/env bash
# Java-vs-C++ overhead with the machine's noise beside it: N interleaved pairs of `mae bench` and the C++ driver
# at one configuration and setting (so both sides see the same ambient load), raw lines to benchmarks/results/.
#   benchmarks/pairs.sh [CONFIG] [PAIRS]       (default: tiny224 6; 1 intra-op thread, STEP_THREADS default nproc)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/setup.sh"
mae_find_jdk
config=${1:-tiny224}
pairs=${2:-6}
st=${STEP_THREADS:-$(nproc)}
driver="$root/native/target/cmake/benchmarks/native/mae_train_step_driver"
[ -x "$driver" ] || { echo "pairs.sh: build first (./run-tests or mvn install): $driver is missing" >&2; exit 1; }
out="$root/benchmarks/results/pairs-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
for _ in $(seq "$pairs"); do
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$root/cli/target/mae-cli.jar" bench --config "$config" \
      --threads 1 --step-threads "$st" --steps 20 --warmup 5 | tail -1 | tee -a "$out"
  "$driver" --config "$config" --threads 1 --step-threads "$st" --steps 20 --warmup 5 | tee -a "$out"
done
/usr/bin/python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
java = [r["median_ms"] for r in rows if r["driver"] == "java"]
cpp = [r["median_ms"] for r in rows if r["driver"] == "c++"]
ratios = sorted(100 * (j / c - 1) for j, c in zip(java, cpp))
n = len(ratios)
median = (ratios[(n - 1) // 2] + ratios[n // 2]) / 2
print("Java over C++ per pair: " + ", ".join("%+.1f%%" % r for r in ratios) + "; median %+.1f%%" % median)
PY
echo "wrote $out"
