#!/usr/bin/env bash
# Image-folder decoding: mae4j's training crops (ImageFolderBenchmark, JMH) against the reference's torchvision
# pipeline (benchmarks/python/bench_decode.py, one process and a DataLoader with one worker per core) on the same
# JPEGs, made here with PIL. Run ./run-tests or mvn install first.
#   benchmarks/decode.sh [N_IMAGES]     (default 256)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/setup.sh"
mae_find_jdk
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$MAE_VENV/bin/python" "$root/benchmarks/python/make_jpegs.py" "$dir" "${1:-256}"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$root/benchmarks/target/mae-benchmarks.jar" \
    ImageFolderBenchmark -p images="$dir"
"$MAE_VENV/bin/python" "$root/benchmarks/python/bench_decode.py" "$dir" "$(nproc)"
