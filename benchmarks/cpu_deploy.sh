#!/usr/bin/env bash
# Issue 13: every CPU deployment choice of one model in the same interleaved rounds, fp32 eager as the
# baseline: BN-folded, compiled, bf16 autocast, PT2E int8 (Inductor), ONNX Runtime fp32 and int8, SE in
# int8 or kept in float; then the fp32 SE overhead at batch 1 and 8 against timm's port.
# One torch thread (ONNX Runtime gets the same one intra-op thread): see docs/performance.md.
# int8 models are calibrated on random images here (timing only); accuracy: `senet quantize`.
# Usage: benchmarks/cpu_deploy.sh [ITERS]   (writes benchmarks/results/cpu_deploy_*.json)
set -euo pipefail
cd "$(dirname "$0")/.."
SENET=${SENET:-.venv/bin/senet}
ITERS=${1:-30}
OUT=benchmarks/results
COMMON=(--device cpu --size 224 --threads 1 --warmup 3 --iters "$ITERS")

run() {  # name, models, extra flags...
  local name=$1 models=$2
  shift 2
  "$SENET" bench --models "$models" "${COMMON[@]}" "$@" --output "$OUT/cpu_deploy_$name.json"
  echo
}

ALL="resnet50,se_resnet50"
for rt in folded compiled bf16 int8 ort ort-int8; do
  ALL="$ALL,$rt:resnet50,$rt:se_resnet50"
done
ALL="$ALL,int8[se=float]:se_resnet50,ort-int8[se=float]:se_resnet50,compiled:folded:se_resnet50"
run backends_b1 "$ALL" --batch-size 1
run se_overhead_b1 "resnet50,se_resnet50,timm:legacy_seresnet50,folded:resnet50,folded:se_resnet50" --batch-size 1
run se_overhead_b8 "resnet50,se_resnet50,timm:legacy_seresnet50,folded:resnet50,folded:se_resnet50" --batch-size 8
