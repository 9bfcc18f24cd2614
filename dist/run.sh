#!/usr/bin/env bash
# On the GPU machine: builds libmae against the LibTorch found here (TORCH_PREFIX, else the one inside the
# PyTorch install), then runs the tests (./run.sh test: the GPU tests and the numerical references, which also
# prove the LibTorch 2.x code paths) or the benchmarks (./run.sh bench). MAE_DEVICE=cpu runs them on the CPU.
# Output in out/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=${1:-test}
prefix=${TORCH_PREFIX:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')}
mkdir -p "$here/out"
if [ ! -f "$here/build/native/libmae.so" ]; then
  # nccl.h of the nvidia-nccl wheel beside PyTorch, for NCCL process groups (CMake tests that it compiles)
  nccl=${NCCL_INCLUDE_DIR:-$(python3 -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "include"))' 2>/dev/null || true)}
  cmake -S "$here/src" -B "$here/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
      ${nccl:+-DNCCL_INCLUDE_DIR="$nccl"} > "$here/out/cmake.log"
  cmake --build "$here/build" -j "$(nproc)" >> "$here/out/cmake.log"
fi
java="$here/runtime/bin/java --enable-native-access=ALL-UNNAMED -Dmae.library.path=$here/build/native/libmae.so"
case $mode in
  test)
    cp="$here/tests/mae4j-api-tests.jar:$(ls "$here"/lib/*.jar | grep -v mae-cli | tr '\n' ':')"
    $java -Dmae.device=${MAE_DEVICE:-cuda} -Dmae.allowMissingGloo=true -Dmae.test.classpath="$cp" \
        -jar "$here/tests/junit-console.jar" execute --class-path "$cp" \
        --select-class dev.mae4j.GpuTest --select-class dev.mae4j.ForwardReferenceTest --select-class dev.mae4j.GradientTest \
        --select-class dev.mae4j.AdamWTest --select-class dev.mae4j.ClassifierTest --select-class dev.mae4j.FineTunerTest \
        --select-class dev.mae4j.EncoderTest --select-class dev.mae4j.NonFiniteTest --select-class dev.mae4j.TorchCheckpointTest \
        --select-class dev.mae4j.DistributedTest \
        --reports-dir "$here/out/junit" | tee "$here/out/tests.txt"
    ;;
  bench)
    # the jars lie flat in lib/, not where mae-cli.jar's manifest expects them: name them all
    mae="$java -cp $(ls "$here"/lib/*.jar | tr '\n' ':') dev.mae4j.cli.MaeCommand"
    for c in fashion tiny224 vitb16; do
      $mae bench --config "$c" --device "${MAE_DEVICE:-cuda}" | tee -a "$here/out/bench.jsonl"
    done
    # data-parallel steps on the CPU over loopback Gloo (1, 2 and 4 ranks of one thread, batch 128 each)
    for n in 1 2 4; do
      $mae bench --config fashion --device cpu --threads 1 --batch 128 --steps 5 \
          --nproc-per-node "$n" --master-port $((29600 + n)) | tee -a "$here/out/bench.jsonl"
    done
    ;;
  *) echo "usage: run.sh test|bench" >&2; exit 2 ;;
esac
