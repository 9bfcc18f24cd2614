#!/usr/bin/env bash
# `mae serve` under load (benchmarks/src/.../ServeLoad.java): the encoder's own throughput at the server's batch size,
# then the server as a child process driven over HTTP from the same JVM — saturation, latency at half of it with 5%
# bombs and 5% garbage, a weights reload under load, SIGTERM under load, peak resident memory. Needs
# `mvn -Pbenchmarks install -DskipTests` first. One JSON line per phase.
#   benchmarks/serve_load.sh [--preset vit-tiny16] [--clients 64] [--seconds 20] [--max-batch 16]   (OUT=dir)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/setup.sh"
mae_find_jdk
cd "$root"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$root/benchmarks/target/mae-benchmarks.jar" \
    dev.mae4j.benchmarks.ServeLoad --dir "${OUT:-/tmp/mae4j-serve-load}" "$@"
