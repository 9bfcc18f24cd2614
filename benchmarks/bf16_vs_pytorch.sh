#!/usr/bin/env bash
# bfloat16 and float32 training steps, Java (`mae bench`, the API's defaults) against PyTorch eager (2 intra-op threads,
# libmae's malloc settings; bf16 under torch.autocast) on the same weights, interleaved: two rounds over fashion-mnist,
# vit-tiny16 and vit-base16, bf16 then fp32 in each. Needs `./mae` built and the venv (`scripts/setup.sh`).
#   benchmarks/bf16_vs_pytorch.sh        -> benchmarks/results/bf16-vs-pytorch-<time>.jsonl
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/setup.sh
mkdir -p benchmarks/results
out=benchmarks/results/bf16-vs-pytorch-$(date -u +%Y%m%dT%H%M%SZ).jsonl
for c in fashion-mnist vit-tiny16 vit-base16; do  # the Python side's weights and equality check
  [[ -d /tmp/mae4j-check-$c ]] || ./mae bench --config $c --steps 1 --warmup 0 --step-threads 1 \
    --export-check /tmp/mae4j-check-$c > /dev/null
done
for round in 1 2; do
for c in fashion-mnist vit-tiny16 vit-base16; do
  if [[ $c == vit-base16 ]]; then s=4; w=1; else s=8; w=3; fi
  for p in bf16 f32; do
    flag=""; if [[ $p == bf16 ]]; then flag=--bf16; fi
    j=$(./mae bench --config $c --precision $p --steps $s --warmup $w 2>/dev/null | tail -1)
    py=$(env MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 "$MAE_VENV/bin/python" benchmarks/python/bench_step.py --config $c --check /tmp/mae4j-check-$c --threads 2 --steps $s --warmup $w $flag 2>/dev/null | tail -1)
    echo "$j" >> "$out"
    echo "$py" >> "$out"
  done
done
done
echo "$out"
