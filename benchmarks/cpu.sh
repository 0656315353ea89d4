#!/usr/bin/env bash
# Issue 6, item 3 on CPU: SE overhead and ours vs timm, fp32, batch 1, 224 px, inference.
# One torch thread: on a shared 2-core machine two OpenMP threads spin against other processes and
# a ResNet-50 forward goes from ~110 ms to 400-700 ms; one thread measures the model, not the contention.
# Usage: benchmarks/cpu.sh [ITERS]   (writes benchmarks/results/cpu_*.json)
set -euo pipefail
cd "$(dirname "$0")/.."
SENET=${SENET:-.venv/bin/senet}
ITERS=${1:-40}
OUT=benchmarks/results
COMMON=(--device cpu --batch-size 1 --size 224 --threads 1 --warmup 3 --iters "$ITERS")

run() {  # name, models, extra flags...
  local name=$1 models=$2
  shift 2
  "$SENET" bench --models "$models" "${COMMON[@]}" "$@" --output "$OUT/cpu_$name.json"
  echo
}

# SE overhead, official layout, and timm's port of the official Caffe models (same layout)
run resnet50_eager "resnet50,se_resnet50,timm:legacy_seresnet50"
run resnext50_eager "resnext50_32x4d,se_resnext50_32x4d,timm:legacy_seresnext50_32x4d"
# torchvision layout (stride on the 3x3) against timm's seresnet50 / resnet50
run resnet50_tvlayout_eager "resnet50[layout=torchvision],se_resnet50[layout=torchvision],timm:seresnet50,timm:resnet50"
# senet.optimize_for_inference (BN folded) on every model, timm's included
run resnet50_optimized "resnet50,se_resnet50,timm:legacy_seresnet50" --optimize
run resnet50_channels_last "resnet50,se_resnet50,timm:legacy_seresnet50" --channels-last
# torch.compile (Inductor) on the CPU
run resnet50_compiled "resnet50,se_resnet50" --compile
