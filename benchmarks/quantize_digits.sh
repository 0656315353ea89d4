#!/usr/bin/env bash
# Issue 13's accuracy target: int8 vs float32 on a digits-trained SE-ResNet-20 (top-1 agreement >= 99%,
# error change <= 0.5 points), for the three backends (issue 24 added openvino) and both SE precisions. Trains the model first (15
# epochs, about a minute on 2 cores), then `senet quantize` on 256 calibration images of the training
# split, compared on the 450 held-out digits. Writes benchmarks/results/quantize_digits_se_resnet20.json.
set -euo pipefail
cd "$(dirname "$0")/.."
SENET=${SENET:-.venv/bin/senet}
RUN=${RUN:-$(mktemp -d)/se_resnet20_digits}
OUT=benchmarks/results/quantize_digits_se_resnet20.json
"$SENET" train --model se_resnet20_cifar --data digits --epochs 15 --workers 0 --out "$RUN" >&2
{
  echo "{\"command\": \"benchmarks/quantize_digits.sh\", \"date\": \"$(date -u +%FT%TZ)\", \"cpu\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\","
  echo " \"versions\": $(.venv/bin/python -c 'import json, torch, torchao, onnxruntime, openvino, nncf; print(json.dumps({"torch": torch.__version__, "torchao": torchao.__version__, "onnxruntime": onnxruntime.__version__, "openvino": openvino.__version__, "nncf": nncf.__version__}))'),"
  echo " \"runs\": ["
  sep=""
  for backend in ort pt2e openvino; do
    for se in int8 float; do
      printf '%s' "$sep"
      "$SENET" quantize --checkpoint "$RUN/model.safetensors" --data digits --calib 256 --backend "$backend" --se "$se" --json
      sep=","
    done
  done
  echo " ]}"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
