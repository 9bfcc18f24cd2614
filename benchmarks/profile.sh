#!/usr/bin/env bash
# Where the time goes: perf's self samples grouped by operation (benchmarks/python/perf_breakdown.py) for the ViT-B/16
# training step (fp32 and bf16, the C++ driver at the API's defaults) and for encoder inference at batch 1 and 32
# (fp32 and bf16, Encoder.load's path in a JVM). Needs `mvn -Pbenchmarks install -DskipTests` first, perf, and
# weights for the encoder: benchmarks/encoder_vs_ort.sh writes them to $OUT (default /tmp/mae4j-ort).
#   benchmarks/profile.sh [train|encoder|all]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/setup.sh"
mae_find_jdk
out=${OUT:-/tmp/mae4j-ort}
what=${1:-all}
driver=$(find "$root/native/target" -name mae_train_step_driver -type f -perm -u+x | head -1)
report() {  # perf data -> grouped shares
    perf report -i "$1" -n --no-children --sort dso,sym --stdio 2>/dev/null | "$MAE_VENV/bin/python" "$root/benchmarks/python/perf_breakdown.py"
}
if [[ $what == train || $what == all ]]; then
    for precision in f32 bf16; do
        echo "== ViT-B/16 training step, $precision (mae_train_step_driver --config vit-base16 --threads 2)"
        perf record -q -F 499 -o "$out/train-$precision.perf" -- "$driver" --config vit-base16 --steps 3 --warmup 1 \
            --threads 2 --precision "$precision" > "$out/train-$precision.json"
        cat "$out/train-$precision.json"
        report "$out/train-$precision.perf"
    done
fi
if [[ $what == encoder || $what == all ]]; then
    for batch in 1 32; do
        for bf16 in "" --bf16; do
            echo "== ViT-B/16 encoder inference, batch $batch ${bf16:-fp32}"
            rounds=$(( batch == 1 ? 40 : 4 ))
            perf record -q -F 499 -o "$out/encoder-$batch$bf16.perf" -- "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
                -cp "$root/benchmarks/target/mae-benchmarks.jar" dev.mae4j.benchmarks.EncoderVsOnnxRuntime \
                --weights "$out/vit-base16.safetensors" --profile-only --batches "$batch" --rounds "$rounds" $bf16
            report "$out/encoder-$batch$bf16.perf"
        done
    done
fi
