#!/usr/bin/env bash
# Java-vs-C++ overhead with the machine's noise beside it: N interleaved pairs of `mae bench` and the C++ driver
# at one configuration and setting (so both sides see the same ambient load; every other pair runs C++ first, so
# neither side always gets the fresher machine), raw lines to benchmarks/results/.
#   benchmarks/pairs.sh [CONFIG] [PAIRS]   (default: vit-tiny16 6)
#   env: THREADS (intra-op, default 1), STEP_THREADS (default nproc), STEPS (default 20), WARMUP (default 5),
#        IN_JVM=1: triples instead, the third the C++ loop inside a JVM process (DriverInJvm), order rotating;
#        ALTERNATE=1: PAIRS runs of `PairedSteps --alternate-native` (benchmarks' harness), each Java step beside a C++ driver step in one
#        process (STEPS step pairs a run; the Java code's cost without the drift between processes);
#        TWIN=1: PAIRS runs of the C++ driver with --twin 1, its step beside a twin of itself in one process: the
#        A/A control of ALTERNATE=1 (how far two identical steps drift apart)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/setup.sh"
mae_find_jdk
config=${1:-vit-tiny16}
pairs=${2:-6}
setting=(--config "$config" --threads "${THREADS:-1}" --step-threads "${STEP_THREADS:-$(nproc)}"
         --steps "${STEPS:-20}" --warmup "${WARMUP:-5}")
driver="$root/native/target/cmake/benchmarks/native/mae_train_step_driver"
[ -x "$driver" ] || { echo "pairs.sh: build first (mvn -Pbenchmarks install -DskipTests): $driver is missing" >&2; exit 1; }
out="$root/benchmarks/results/pairs-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
mkdir -p "$(dirname "$out")"
java_run() { "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$root/cli/target/mae-cli.jar" bench "${setting[@]}" \
               | tail -1 | tee -a "$out"; }
cpp_run() { "$driver" "${setting[@]}" | tee -a "$out"; }
in_jvm_run() { "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$root/benchmarks/target/mae-benchmarks.jar" \
                 dev.mae4j.benchmarks.DriverInJvm "$(dirname "$driver")/libmae_train_step_driver_in_jvm.so" "${setting[@]}" \
                 | tee -a "$out"; }
alternate_run() { "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$root/benchmarks/target/mae-benchmarks.jar" \
                    dev.mae4j.benchmarks.PairedSteps "${setting[@]}" --alternate-native "$(dirname "$driver")/libmae_train_step_driver_in_jvm.so" | tail -1 | tee -a "$out"; }
twin_run() { "$driver" "${setting[@]}" --twin 1 | tee -a "$out"; }
for i in $(seq "$pairs"); do
  if [ "${ALTERNATE:-0}" = 1 ]; then alternate_run
  elif [ "${TWIN:-0}" = 1 ]; then twin_run
  elif [ "${IN_JVM:-0}" = 1 ]; then
    case $(( i % 3 )) in 1) java_run; cpp_run; in_jvm_run;; 2) cpp_run; in_jvm_run; java_run;; 0) in_jvm_run; java_run; cpp_run;; esac
  elif (( i % 2 )); then java_run; cpp_run; else cpp_run; java_run; fi
done
/usr/bin/python3 "$root/benchmarks/python/pair_overhead.py" "$out"
echo "wrote $out"
