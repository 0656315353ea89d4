#!/usr/bin/env bash
# Issue 24: every CPU runtime x precision for resnet50 and se_resnet50 in the same interleaved rounds:
# PyTorch eager, ONNX Runtime and OpenVINO in fp32; PT2E + Inductor, ONNX Runtime and OpenVINO (NNCF) in
# int8 (SE precision: each backend's --se auto); and `auto:` (what --runtime auto picks, measured then).
# One thread everywhere, batch 1 and 8, 224 px. int8 models are calibrated on random images here (timing
# only); accuracy: benchmarks/quantize_digits.sh. Tables: benchmarks/deploy_table.py.
# Then where the SE overhead goes: per-node profiles at batch 1 (benchmarks/profile_runtimes.py).
# Usage: benchmarks/cpu_runtimes.sh [ITERS]   (writes benchmarks/results/cpu_runtimes_b{1,8}.json and
# benchmarks/results/cpu_runtime_profile_b1.json)
set -euo pipefail
cd "$(dirname "$0")/.."
SENET=${SENET:-.venv/bin/senet}
ITERS=${1:-20}
MODELS="resnet50,se_resnet50"
for rt in ort ov int8 "ort-int8[se=float]" ov-int8 auto; do
  MODELS="$MODELS,$rt:resnet50,$rt:se_resnet50"
done
for b in 1 8; do
  "$SENET" bench --models "$MODELS" --device cpu --size 224 --threads 1 --warmup 3 --iters "$ITERS" \
    --batch-size "$b" --output "benchmarks/results/cpu_runtimes_b$b.json"
  echo
done
PY=${PY:-.venv/bin/python}
"$PY" benchmarks/profile_runtimes.py --batch 1 --rounds 10 --output benchmarks/results/cpu_runtime_profile_b1.json
