#!/usr/bin/env bash
# Encoder inference, mae4j against ONNX Runtime Java (benchmarks/src/.../EncoderVsOnnxRuntime.java): for each preset,
# freshly initialised weights written by mae4j, their encoder exported to ONNX by torch.onnx from the reference model
# (benchmarks/python/export_encoder_onnx.py), then both in one JVM, outputs checked equal, interleaved rounds, batch
# 1, 8 and 32, mae4j in fp32 and bf16. Needs `mvn -Pbenchmarks install -DskipTests` first, and onnx + onnxscript in
# the venv (scripts/setup.sh's mae_ensure_onnx installs them). One JSON line per preset and batch.
#   benchmarks/encoder_vs_ort.sh [PRESET ...]   (default: vit-tiny16 vit-base16; OUT=dir for the files, ROUNDS=n)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/setup.sh"
mae_find_jdk
mae_ensure_onnx
out=${OUT:-/tmp/mae4j-ort}
mkdir -p "$out"
java=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$root/benchmarks/target/mae-benchmarks.jar"
      dev.mae4j.benchmarks.EncoderVsOnnxRuntime)
for preset in "${@:-vit-tiny16 vit-base16}"; do
    for p in $preset; do
        [ -f "$out/$p.safetensors" ] || "${java[@]}" --weights "$out/$p.safetensors" --write-preset "$p"
        [ -f "$out/$p.onnx" ] || "$MAE_VENV/bin/python" "$root/benchmarks/python/export_encoder_onnx.py" \
            --weights "$out/$p.safetensors" --out "$out/$p.onnx" >&2
        "${java[@]}" --weights "$out/$p.safetensors" --onnx "$out/$p.onnx" --rounds "${ROUNDS:-15}" --bf16
    done
done
