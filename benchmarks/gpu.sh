#!/usr/bin/env bash
# Issue 6, item 3 on a GPU (not run yet: no GPU was lent to this issue). AMP bf16, channels-last, 224 px:
# training and inference throughput, eager and torch.compile, ours vs plain twin vs timm.
# Usage: benchmarks/gpu.sh [BATCH] [ITERS]   (writes benchmarks/results/gpu_*.json)
set -euo pipefail
cd "$(dirname "$0")/.."
SENET=${SENET:-.venv/bin/senet}
BATCH=${1:-128}
ITERS=${2:-30}
OUT=benchmarks/results
MODELS="resnet50[layout=torchvision],se_resnet50[layout=torchvision],timm:seresnet50,timm:resnet50"
MODELS_OFFICIAL="resnet50,se_resnet50,timm:legacy_seresnet50"
COMMON=(--device cuda --amp bf16 --channels-last --batch-size "$BATCH" --size 224 --warmup 10 --iters "$ITERS")

for mode in train infer; do
  for compiled in "" --compile; do
    tag=${mode}${compiled:+_compiled}
    "$SENET" bench --models "$MODELS" --mode "$mode" "${COMMON[@]}" $compiled --output "$OUT/gpu_resnet50_$tag.json"
    "$SENET" bench --models "$MODELS_OFFICIAL" --mode "$mode" "${COMMON[@]}" $compiled \
      --output "$OUT/gpu_resnet50_official_$tag.json"
  done
done
"$SENET" bench --models "resnext50_32x4d,se_resnext50_32x4d,timm:legacy_seresnext50_32x4d" --mode train \
  "${COMMON[@]}" --output "$OUT/gpu_resnext50_train.json"
