#!/usr/bin/env bash
# Issue 6, item 3 on a GPU. AMP bf16, channels-last, 224 px: training and inference throughput, eager and
# torch.compile, ours vs plain twin vs timm, interleaved in one process per table (`senet bench`).
# Usage: benchmarks/gpu.sh [BATCH] [ITERS] [eager|compiled|all]   (writes benchmarks/results/gpu_*.json)
# SENET names the CLI (default .venv/bin/senet; on a machine with torch preinstalled: a wrapper that runs
# `python3 -m senet`).
set -euo pipefail
cd "$(dirname "$0")/.."
SENET=${SENET:-.venv/bin/senet}
BATCH=${1:-128}
ITERS=${2:-30}
PHASE=${3:-all}
OUT=benchmarks/results
MODELS="resnet50[layout=torchvision],se_resnet50[layout=torchvision],timm:seresnet50,timm:resnet50"
MODELS_OFFICIAL="resnet50,se_resnet50,timm:legacy_seresnet50"
COMMON=(--device cuda --amp bf16 --channels-last --batch-size "$BATCH" --size 224 --warmup 10 --iters "$ITERS")

case $PHASE in
  eager) variants=("") ;;
  compiled) variants=(--compile) ;;
  all) variants=("" --compile) ;;
  *) echo "gpu.sh: phase must be eager, compiled or all, not $PHASE" >&2; exit 2 ;;
esac
for compiled in "${variants[@]}"; do
  for mode in train infer; do
    tag=${mode}${compiled:+_compiled}
    "$SENET" bench --models "$MODELS" --mode "$mode" "${COMMON[@]}" $compiled --output "$OUT/gpu_resnet50_$tag.json"
    "$SENET" bench --models "$MODELS_OFFICIAL" --mode "$mode" "${COMMON[@]}" $compiled \
      --output "$OUT/gpu_resnet50_official_$tag.json"
  done
done
if [[ $PHASE != compiled ]]; then
  "$SENET" bench --models "resnext50_32x4d,se_resnext50_32x4d,timm:legacy_seresnext50_32x4d" --mode train \
    "${COMMON[@]}" --output "$OUT/gpu_resnext50_train.json"
fi
