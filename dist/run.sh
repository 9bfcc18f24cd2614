#!/usr/bin/env bash
# On the GPU machine: builds libmae against the PyTorch python3 finds (configure.sh: the one CUDA configure path,
# which scripts/cuda-build.sh runs in CI too), then runs the tests (./run.sh test: the GPU tests and the numerical
# references, on the device MAE_DEVICE names, cuda by default) or the benchmarks (./run.sh bench, ./run.sh gpu).
# ./run.sh build only builds. MAE_DEVICE=cpu runs them on the CPU. Output in out/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=${1:-test}
mkdir -p "$here/out"
if [ ! -f "$here/build/native/libmae.so" ]; then
  "$here/configure.sh" "$here/src" "$here/build" > "$here/out/cmake.log" 2>&1 \
      || { tail -40 "$here/out/cmake.log" >&2; echo "run.sh: configure failed (out/cmake.log)" >&2; exit 1; }
  cmake --build "$here/build" -j "$(nproc)" >> "$here/out/cmake.log" 2>&1 \
      || { tail -40 "$here/out/cmake.log" >&2; echo "run.sh: build failed (out/cmake.log)" >&2; exit 1; }
fi
java="$here/runtime/bin/java --enable-native-access=ALL-UNNAMED -Dmae.library.path=$here/build/native/libmae.so"
case $mode in
  build)
    echo "run.sh: built $here/build/native/libmae.so (out/cmake.log)"
    ;;
  test)
    cp="$here/tests/mae4j-api-tests.jar:$(ls "$here"/lib/*.jar | grep -v mae-cli | tr '\n' ':')"
    $java -Dmae.device=${MAE_DEVICE:-cuda} -Dmae.allowMissingGloo=true -Dmae.test.classpath="$cp" \
        -jar "$here/tests/junit-console.jar" execute --class-path "$cp" \
        --select-class dev.mae4j.GpuTest --select-class dev.mae4j.ForwardReferenceTest --select-class dev.mae4j.GradientTest \
        --select-class dev.mae4j.AdamWTest --select-class dev.mae4j.ClassifierTest --select-class dev.mae4j.FineTunerTest \
        --select-class dev.mae4j.EncoderTest --select-class dev.mae4j.NonFiniteTest --select-class dev.mae4j.TorchSaveFileTest \
        --select-class dev.mae4j.CheckpointTest \
        --select-class dev.mae4j.DistributedTest \
        --reports-dir "$here/out/junit" | tee "$here/out/tests.txt"
    ;;
  bench)
    # the jars lie flat in lib/, not where mae-cli.jar's manifest expects them: name them all
    mae="$java -cp $(ls "$here"/lib/*.jar | tr '\n' ':') dev.mae4j.cli.MaeCommand"
    for c in fashion-mnist vit-tiny16 vit-base16; do
      $mae bench --config "$c" --device "${MAE_DEVICE:-cuda}" | tee -a "$here/out/bench.jsonl"
    done
    # data-parallel steps on the CPU over loopback Gloo (1, 2 and 4 ranks of one thread, batch 128 each)
    for n in 1 2 4; do
      $mae bench --config fashion-mnist --device cpu --threads 1 --batch 128 --steps 5 \
          --nproc-per-node "$n" --master-port $((29600 + n)) | tee -a "$here/out/bench.jsonl"
    done
    ;;
  gpu)
    # The one prepared GPU run (issue 22; at most 8 minutes): the tests, then per configuration the bf16 training step
    # driven from Java, by the C++ driver, and by PyTorch eager and torch.compile on the same weights, merged with
    # TFLOP/s and MFU into out/gpu.json. Rehearse it on a CPU: MAE_DEVICE=cpu MAE_GPU_CONFIGS=fashion-mnist ./run.sh gpu
    dev=${MAE_DEVICE:-cuda}; configs=${MAE_GPU_CONFIGS:-vit-base16 vit-large16}
    steps=${MAE_GPU_STEPS:-20}; warmup=${MAE_GPU_WARMUP:-5}
    "$0" test || echo "run.sh gpu: some tests failed (out/tests.txt); measuring anyway" >&2
    mae="$java -cp $(ls "$here"/lib/*.jar | tr '\n' ':') dev.mae4j.cli.MaeCommand"
    rm -f "$here/out/gpu.jsonl"
    # one measurement: its JSON line into out/gpu.jsonl, its chatter into out/gpu.log; a failure is reported, not fatal
    run() { timeout "${MAE_GPU_STEP_TIMEOUT:-240}" "$@" 2>> "$here/out/gpu.log" | grep '^{' | tee -a "$here/out/gpu.jsonl" \
              || echo "run.sh gpu: $1 failed or timed out (out/gpu.log)" >&2; }
    for c in $configs; do
      batch=${MAE_GPU_BATCH:-$([ "$c" = fashion-mnist ] && echo 256 || echo 64)}
      # float32 weights and reference outputs on the CPU, which bench_step.py checks PyTorch's model against
      $mae bench --config "$c" --device cpu --batch 2 --steps 1 --warmup 0 --export-check "$here/out/check-$c" > /dev/null
      run $mae bench --config "$c" --device "$dev" --precision bf16 --batch "$batch" --steps "$steps" --warmup "$warmup"
      run "$here/build/benchmarks/native/mae_train_step_driver" --config "$c" --device "$dev" --precision bf16 \
          --batch "$batch" --steps "$steps" --warmup "$warmup" --threads "$(nproc)"
      for mode in "" --compile; do
        run python3 "$here/src/benchmarks/python/bench_step.py" --config "$c" --check "$here/out/check-$c" --device "$dev" \
            --bf16 $mode --batch "$batch" --steps "$steps" --warmup "$warmup" --threads "$(nproc)"
      done
    done
    # the AdamW update alone, ATen's fused kernel (libmae's) against the tensor ops, on the first configuration
    run "$here/build/benchmarks/native/mae_adamw_kernels" --config "${configs%% *}" --device "$dev" --rounds 20
    python3 "$here/src/benchmarks/python/gpu_report.py" "$here/out/gpu.jsonl" > "$here/out/gpu.json"
    cat "$here/out/gpu.json"
    ;;
  *) echo "usage: run.sh build|test|bench|gpu" >&2; exit 2 ;;
esac
